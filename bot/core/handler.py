"""CommandCore: runs a parsed command against the library and says what happened."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.metrics import COMMAND_SECONDS
from storage.accounts import Accounts, Identity
from storage.errors import CloudBoxError
from storage.library import Library
from storage.messages import SIGNED_LINKS_STAY
from storage.model import Image, Owner, Share
from storage.models import utcnow
from storage.sharing import Shares
from storage.words import platform_name

from . import commands as c
from . import messages as m
from .format import human_size, human_time, image_line, subtitle
from .replies import Button, Confirm, ImageItem, Reply, Section
from .rich import Emphasis, Line, Rich, line, rich

log = logging.getLogger(__name__)

PER_PAGE = 10
# A chat message may carry 100 files; its report shows this many with previews (and this many
# refusals), which fits Slack's 50 blocks and Chat's 100 widgets and 32 KB, and counts the rest.
REPORT_ITEMS = 10
REPORT_REFUSALS = 10
# App Home shows the latest images and the links that still work, this many of each.
HOME_RECENT = 5
HOME_LINKS = 10


class CommandCore:
    def __init__(
        self,
        library: Library,
        shares: Shares,
        accounts: Accounts,
        *,
        link_url: Callable[[c.Actor], str],
        clock: Callable[[], datetime] = utcnow,
    ):
        self._library = library
        self._shares = shares
        self._accounts = accounts
        self._link_url = link_url
        self._now = clock

    def handle(self, actor: c.Actor, text: str) -> Reply:
        """Parse `text` and answer it: `run` for chat text that was not parsed yet."""
        return self.run(actor, c.parse(text))

    def run(self, actor: c.Actor, command: c.Command) -> Reply:
        """Answer a command; expected failures become a private explanation, never an exception."""
        started = time.perf_counter()
        try:
            return self._dispatch(actor, command)
        except CloudBoxError as exc:
            return Reply(m.explained(exc))
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("command %s failed (reference %s)", type(command).__name__, reference)
            return Reply(m.apology(reference))
        finally:
            COMMAND_SECONDS.labels(type(command).__name__).observe(time.perf_counter() - started)

    def linked_notice(self, identity: Identity, email: str) -> Reply:
        """Said in chat right after a link is made, so a link nobody meant is noticed at once."""
        return Reply(m.linked_notice(platform_name(identity.platform), email), title=m.LINKED_TITLE)

    def not_linked(self, actor: c.Actor) -> Reply:
        return Reply(
            m.CONNECT,
            title=m.CONNECT_TITLE,
            buttons=[Button(m.CONNECT_BUTTON, url=self._link_url(actor), style="primary")],
        )

    def home(self, actor: c.Actor) -> Reply:
        """The App Home tab: link status, the latest images, the links that still work."""
        owner = self._accounts.owner_of(actor.identity)
        if owner is None:
            link = Button(m.HOME_LINK_BUTTON, url=self._link_url(actor), style="primary")
            return Reply(m.HOME_NOT_LINKED, title=m.HOME_TITLE, buttons=[link])
        unlink = Button(m.HOME_UNLINK_BUTTON, command="unlink")
        sections = self._home_images(owner) + self._home_links(owner)
        return Reply(m.home_linked(owner.email), title=m.HOME_TITLE, buttons=[unlink], sections=sections)

    def ingest_report(self, outcomes: list, *, linked_now: bool = False) -> Reply:  # type: ignore[type-arg]
        """One reply for the files of one chat message: what was saved, what was refused and why.

        However many files a message had, the reply shows at most REPORT_ITEMS images and
        REPORT_REFUSALS refusals, counts the rest and links the library, so that every platform
        can show it whole: nothing is cut silently.
        """
        saved = [o for o in outcomes if o.image is not None]
        refused = [o for o in outcomes if o.image is None]
        lines, items = Rich(), []
        if linked_now:
            lines += rich(m.LINKED_NOW)
        if len(outcomes) > REPORT_ITEMS:
            lines += rich(m.saved_some(len(saved), len(outcomes), len(refused)))
        for outcome in saved[:REPORT_ITEMS]:
            image: Image = outcome.image
            lines += rich(image_line(image, m.saved_verb(outcome.created) + " "))
            items.append(self._item(image, share=True))
        buttons, more = [], None
        if len(saved) > REPORT_ITEMS:
            gallery = self._library.policy.base_url.rstrip("/") + "/"
            more = m.more_in_library(len(saved) - REPORT_ITEMS, gallery)
            lines += more
            buttons.append(Button(m.OPEN_LIBRARY, url=gallery))
        notes = [m.refusal(o.job.file_name, o.refused or m.WAS_NOT_SAVED) for o in refused[:REPORT_REFUSALS]]
        if len(refused) > REPORT_REFUSALS:
            notes.append(m.more_not_saved(len(refused) - REPORT_REFUSALS))
        for note in notes:
            lines += rich(*(line(f"{m.NOT_SAVED}: ", *ln.runs) for ln in note.lines))
        return Reply(lines, items=items, notes=notes, buttons=buttons, more=more)

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(self, actor: c.Actor, command: c.Command) -> Reply:
        match command:
            case c.Help():
                return Reply(m.help_text(), title=m.HELP_TITLE)
            case c.Invalid(problem=problem, verb=verb):
                return Reply(m.invalid(problem, verb))
            case c.Link():
                return self._link(actor)
        owner = self._accounts.owner_of(actor.identity)
        if owner is None:
            return self.not_linked(actor)
        match command:
            case c.WhoAmI():
                return self._whoami(actor, owner)
            case c.Unlink(choice=choice):
                return self._unlink(actor, owner, choice)
            case c.ListImages(page=page, words=words, after=after):
                return self._list(owner, page, words, after)
            case c.ShareImage(ref=ref, ttl=ttl):
                return self._share(actor, owner, ref, ttl)
            case c.Unshare(ref=ref):
                shares = self._shares.revoke(owner, ref)
                return Reply(m.turned_off(len(shares), sorted({s.image.name for s in shares})))
            case c.Links():
                return self._links(owner)
            case c.DeleteImage(ref=ref, confirmed=confirmed):
                return self._delete(owner, ref, confirmed)
            case c.Settings(location=location):
                return self._settings(owner, location)
        raise AssertionError(f"unhandled command {command!r}")

    def _link(self, actor: c.Actor) -> Reply:
        owner = self._accounts.owner_of(actor.identity)
        if owner is None:
            return self.not_linked(actor)
        return Reply(m.linked_to(owner.email), buttons=[Button(m.SWITCH_BUTTON, url=self._link_url(actor))])

    def _whoami(self, actor: c.Actor, owner: Owner) -> Reply:
        others = [
            m.other_identity(platform_name(i.platform), i.chat_user)
            for i in self._accounts.identities(owner)
            if i != actor.identity
        ]
        usage = self._library.usage(owner).describe()
        return Reply(m.whoami(platform_name(actor.identity.platform), owner.email, others, usage))

    def _settings(self, owner: Owner, location: str) -> Reply:
        if location:
            choice = {"keep": True, "remove": False, "default": None}[location]
            self._accounts.set_keep_location(owner, choice)
            owner = replace(owner, keep_location=choice)
        keeps = self._library.keeps_location(owner)
        return Reply(m.location_setting(keeps, owner.keep_location is not None), title=m.SETTINGS_TITLE)

    def _unlink(self, actor: c.Actor, owner: Owner, choice: str) -> Reply:
        if choice == "":
            return Reply(m.unlink_question(owner.email), buttons=_unlink_buttons(owner))
        deleted = self._library.delete_all(owner) if choice == "delete" else 0
        self._accounts.unlink(actor.identity)
        if choice == "delete":
            return Reply(m.unlinked_and_deleted(deleted))
        return Reply(m.unlinked(owner.email))

    def _list(self, owner: Owner, page_number: int, words: str, after: str | None = None) -> Reply:
        page = self._library.list(owner, page=page_number, per_page=PER_PAGE, words=words, after=after)
        what = m.images_what(words)
        if page.total == 0:
            return Reply(m.no_images(what))
        if not page.images:
            return Reply(m.no_such_page(page_number, page.pages, what))
        title = (
            m.list_title(what, page.number, page.pages, page.total)
            if page.counted_all
            else m.list_title_over(what, page.number, page.total - 1)
        )
        items = [self._item(image, share=True, delete=True) for image in page.images]
        buttons = []
        suffix = f" {words}" if words else ""
        if page.number > 1:
            buttons.append(Button(m.PREVIOUS_PAGE, command=f"list {page.number - 1}{suffix}"))
        if page.after is not None:
            command = f"list {page.number + 1}{suffix} {c.CURSOR_PREFIX}{page.after}"
            buttons.append(Button(m.NEXT_PAGE, command=command))
        text = rich(line(Emphasis(title)), *(image_line(i) for i in page.images))
        return Reply(text, title=title, items=items, buttons=buttons)

    def _share(self, actor: c.Actor, owner: Owner, ref: str, ttl: object) -> Reply:
        share = self._shares.share(owner, ref, ttl=ttl, created_by=actor.name or actor.identity.chat_user)  # type: ignore[arg-type]
        text = m.shared(
            actor.name or m.SOMEONE,
            share.image.name,
            share.url or "",  # a share just made always has its URL
            human_time(share.expires_at),
            can_turn_off=self._links_can_be_turned_off,
        )
        return Reply(text, public=True, items=[self._item(share.image)])

    def _links(self, owner: Owner) -> Reply:
        shares = self._shares.links(owner)
        if not shares:
            return Reply(m.NO_LINKS)
        text = rich(line(Emphasis(m.LINKS_HEADING)), *(_link_line(s) for s in shares))
        if not self._links_can_be_turned_off:
            return Reply(text + rich(SIGNED_LINKS_STAY), title=m.LINKS_TITLE)
        # One button per link, named by its image as `list` names it (the link id is internal).
        buttons = [Button(m.turn_off_button(s.image.name), command=f"unshare {s.id}") for s in shares[:10]]
        return Reply(text, title=m.LINKS_TITLE, buttons=buttons)

    @property
    def _links_can_be_turned_off(self) -> bool:
        # CLOUDBOX_SHARE_LINKS=signed_url posts raw signed URLs, which nothing can turn off.
        return self._library.policy.share_links != "signed_url"

    def _delete(self, owner: Owner, ref: str, confirmed: bool) -> Reply:
        if not confirmed:
            image = self._library.get(owner, ref)
            confirm = Confirm(m.DELETE_IMAGE_TITLE, m.gone_for_good(image.name), m.DELETE_BUTTON)
            delete = Button(
                m.DELETE_BUTTON, command=f"delete {image.id} confirm", style="danger", confirm=confirm
            )
            return Reply(m.delete_question(image.name, image.id), items=[self._item(image)], buttons=[delete])
        image = self._library.delete(owner, ref)
        return Reply(m.deleted(image.name))

    def _home_images(self, owner: Owner) -> list[Section]:
        page = self._library.list(owner, per_page=HOME_RECENT)
        recent = Section(m.home_recent(page.total), [self._item(i) for i in page.images], rule=True)
        return [recent] if page.images else [recent, Section(m.NO_IMAGES_YET)]

    def _home_links(self, owner: Owner) -> list[Section]:
        shares = [*self._shares.links(owner)][:HOME_LINKS]  # a copy: mypy misreads the return type
        lines = [
            Section(
                m.home_link_line(s.id, s.image.name, s.views, human_time(s.expires_at)),
                buttons=[Button(m.home_turn_off_button(s.id), command=f"unshare {s.id}")],
            )
            for s in shares
        ]
        return [Section(m.home_links_heading(bool(shares)), rule=True), *lines]

    def _item(self, image: Image, *, share: bool = False, delete: bool = False) -> ImageItem:
        buttons = []
        if share:
            buttons.append(Button(m.SHARE_BUTTON, command=f"share {image.id}", style="primary"))
        if delete:
            buttons.append(Button(m.DELETE_BUTTON, command=f"delete {image.id}", style="danger"))
        try:
            preview = self._library.preview_url(image)
        except CloudBoxError:
            preview = None  # the list still helps without pictures
        return ImageItem(image, preview, subtitle(image), buttons)


def _unlink_buttons(owner: Owner) -> list[Button]:
    confirm = Confirm(m.UNLINK_DELETE_TITLE, m.unlink_delete_warning(owner.email), m.UNLINK_DELETE_OK)
    return [
        Button(m.UNLINK_KEEP_BUTTON, command="unlink keep", style="primary"),
        Button(m.UNLINK_DELETE_BUTTON, command="unlink delete", style="danger", confirm=confirm),
    ]


def _link_line(share: Share) -> Line:
    return m.link_line(share.image.id, share.image.name, share.views, human_time(share.expires_at))


__all__ = ["CommandCore", "human_size"]
