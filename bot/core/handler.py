"""CommandCore: runs a parsed command against the library and says what happened."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from storage.accounts import Accounts, Identity
from storage.errors import CloudBoxError
from storage.library import Library
from storage.model import Image, Owner, Share
from storage.models import utcnow
from storage.sharing import SIGNED_LINKS_STAY, Shares

from . import commands as c
from .format import human_size, human_time, image_line, refusal, subtitle
from .replies import Button, Confirm, ImageItem, Reply

log = logging.getLogger(__name__)

PLATFORM_NAMES = {"slack": "Slack", "gchat": "Google Chat"}
PER_PAGE = 10
# A chat message may carry 100 files; its report shows this many with previews (and this many
# refusals), which fits Slack's 50 blocks and Chat's 100 widgets and 32 KB, and counts the rest.
REPORT_ITEMS = 10
REPORT_REFUSALS = 10


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
        """Answer a command; expected failures become a private explanation, never an exception."""
        command = c.parse(text)
        try:
            return self._dispatch(actor, command)
        except CloudBoxError as exc:
            return Reply(exc.message)
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("command %s failed (reference %s)", type(command).__name__, reference)
            return Reply(
                f"Sorry, something went wrong on our side (reference `{reference}`). Please try again."
            )

    def linked_notice(self, identity: Identity, email: str) -> Reply:
        """Said in chat right after a link is made, so a link nobody meant is noticed at once."""
        platform = PLATFORM_NAMES.get(identity.platform, identity.platform)
        return Reply(
            f"Your {platform} account is now linked to the Google account *{email}*. Images you "
            "send me are kept in its library. If you did not do this, unlink now with "
            "`/cloudbox unlink`.",
            title="Google account linked",
        )

    def not_linked(self, actor: c.Actor) -> Reply:
        return Reply(
            "To keep images in CloudBox, connect your Google account first: your library lives "
            "there, so it is the same from Slack, Google Chat and the web. The link works once, "
            "for 10 minutes.",
            title="Connect your Google account",
            buttons=[Button("Connect Google account", url=self._link_url(actor), style="primary")],
        )

    def ingest_report(self, outcomes: list, *, linked_now: bool = False) -> Reply:  # type: ignore[type-arg]
        """One reply for the files of one chat message: what was saved, what was refused and why.

        However many files a message had, the reply shows at most REPORT_ITEMS images and
        REPORT_REFUSALS refusals, counts the rest and links the library, so that every platform
        can show it whole: nothing is cut silently.
        """
        saved = [o for o in outcomes if o.image is not None]
        refused = [o for o in outcomes if o.image is None]
        lines, items = [], []
        if linked_now:
            lines.append("Your Google account is linked, so I saved what you sent before:")
        if len(outcomes) > REPORT_ITEMS:
            lines.append(f"Saved {_count(len(saved), 'file')} of {len(outcomes)}; {len(refused)} not saved.")
        for outcome in saved[:REPORT_ITEMS]:
            image: Image = outcome.image
            verb = "Saved" if outcome.created else "Already in your library:"
            lines.append(f"{verb} {image_line(image)}")
            items.append(self._item(image, share=True))
        buttons, more = [], None
        if len(saved) > REPORT_ITEMS:
            gallery = self._library.policy.base_url.rstrip("/") + "/"
            more = f"…and {len(saved) - REPORT_ITEMS} more, all in your library: {gallery}"
            lines.append(more)
            buttons.append(Button("Open my library", url=gallery))
        notes = [refusal(o.job.file_name, o.refused or "was not saved") for o in refused[:REPORT_REFUSALS]]
        if len(refused) > REPORT_REFUSALS:
            notes.append(f"…and {_count(len(refused) - REPORT_REFUSALS, 'more file')} not saved.")
        if notes:
            lines.extend(f"Not saved: {n}" for n in notes)
        return Reply("\n".join(lines), items=items, notes=notes, buttons=buttons, more=more)

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(self, actor: c.Actor, command: c.Command) -> Reply:
        match command:
            case c.Help():
                return self._help()
            case c.Invalid(problem=problem, verb=verb):
                usage = c.USAGE.get(verb)
                hint = f"Usage: {usage}" if usage else "Try `help` to see what I can do."
                return Reply(f"{problem}\n{hint}")
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
            case c.ListImages(page=page, words=words):
                return self._list(owner, page, words)
            case c.ShareImage(ref=ref, ttl=ttl):
                return self._share(actor, owner, ref, ttl)
            case c.Unshare(ref=ref):
                shares = self._shares.revoke(owner, ref)
                names = sorted({s.image.name for s in shares})
                return Reply(f"Turned off {_count(len(shares), 'link')} to *{'*, *'.join(names)}*.")
            case c.Links():
                return self._links(owner)
            case c.DeleteImage(ref=ref, confirmed=confirmed):
                return self._delete(owner, ref, confirmed)
        raise AssertionError(f"unhandled command {command!r}")

    def _help(self) -> Reply:
        lines = ["*CloudBox* keeps the images you send me, in your own Google Cloud library.", ""]
        lines += ["Send me images in a direct message (or mention me with them) and I save them."]
        lines += ["", "Commands:"] + [_usage_line(usage) for usage in c.USAGE.values()]
        return Reply("\n".join(lines), title="CloudBox help")

    def _link(self, actor: c.Actor) -> Reply:
        owner = self._accounts.owner_of(actor.identity)
        if owner is None:
            return self.not_linked(actor)
        return Reply(
            f"You are linked to *{owner.email}*. To switch to another Google account, use this "
            "link (it works once, for 10 minutes).",
            buttons=[Button("Link another Google account", url=self._link_url(actor))],
        )

    def _whoami(self, actor: c.Actor, owner: Owner) -> Reply:
        others = [
            f"{PLATFORM_NAMES.get(i.platform, i.platform)} ({i.chat_user})"
            for i in self._accounts.identities(owner)
            if i != actor.identity
        ]
        text = f"This {PLATFORM_NAMES.get(actor.identity.platform)} account uses *{owner.email}*."
        if others:
            text += " Also linked: " + ", ".join(others) + "."
        text += f" You keep {self._library.usage(owner).describe()}."
        return Reply(text)

    def _unlink(self, actor: c.Actor, owner: Owner, choice: str) -> Reply:
        if choice == "":
            return Reply(
                f"Unlink this chat account from *{owner.email}*? Your images can stay in the "
                "library (you can link again, or use the web gallery), or be deleted.",
                buttons=[
                    Button("Unlink, keep my images", command="unlink keep", style="primary"),
                    Button(
                        "Unlink and delete my images",
                        command="unlink delete",
                        style="danger",
                        confirm=Confirm(
                            "Delete your whole library?",
                            f"This deletes every image of {owner.email} and turns off all links, "
                            "for every chat linked to that account. It cannot be undone.",
                            "Delete everything",
                        ),
                    ),
                ],
            )
        deleted = self._library.delete_all(owner) if choice == "delete" else 0
        self._accounts.unlink(actor.identity)
        if choice == "delete":
            return Reply(f"Deleted {_count(deleted, 'image')} and unlinked this chat account.")
        return Reply(f"Unlinked. Your images stay with *{owner.email}*; `link` connects again.")

    def _list(self, owner: Owner, page_number: int, words: str) -> Reply:
        page = self._library.list(owner, page=page_number, per_page=PER_PAGE, words=words)
        what = f"images matching “{words}”" if words else "images"
        if page.total == 0:
            return Reply(f"You have no {what} yet. Send me an image to save it.")
        if not page.images:
            return Reply(f"There is no page {page_number}; you have {page.pages} page(s) of {what}.")
        title = f"Your {what} — page {page.number} of {page.pages} ({page.total} in all)"
        items = [self._item(image, share=True, delete=True) for image in page.images]
        buttons = []
        suffix = f" {words}" if words else ""
        if page.number > 1:
            buttons.append(Button("Previous page", command=f"list {page.number - 1}{suffix}"))
        if page.has_next:
            buttons.append(Button("Next page", command=f"list {page.number + 1}{suffix}"))
        text = "\n".join([f"*{title}*"] + [image_line(i) for i in page.images])
        return Reply(text, title=title, items=items, buttons=buttons)

    def _share(self, actor: c.Actor, owner: Owner, ref: str, ttl: object) -> Reply:
        share = self._shares.share(owner, ref, ttl=ttl, created_by=actor.name or actor.identity.chat_user)  # type: ignore[arg-type]
        who = actor.name or "Someone"
        text = (
            f"*{who}* shared *{share.image.name}*: {share.url}\n"
            f"The link works until {human_time(share.expires_at)}."
        )
        if not self._links_can_be_turned_off:
            text += " It cannot be turned off before then; deleting the image stops it."
        return Reply(text, public=True, items=[self._item(share.image)])

    def _links(self, owner: Owner) -> Reply:
        shares = self._shares.links(owner)
        if not shares:
            return Reply("You have no links that still work. `share <image>` makes one.")
        lines = ["*Your links that still work*"] + [_link_line(s) for s in shares]
        if not self._links_can_be_turned_off:
            lines.append(SIGNED_LINKS_STAY)
            return Reply("\n".join(lines), title="Your links")
        # One button per link, named by its image as `list` names it (the link id is internal).
        buttons = [Button(f"Turn off: {s.image.name}", command=f"unshare {s.id}") for s in shares[:10]]
        return Reply("\n".join(lines), title="Your links", buttons=buttons)

    @property
    def _links_can_be_turned_off(self) -> bool:
        # CLOUDBOX_SHARE_LINKS=signed_url posts raw signed URLs, which nothing can turn off.
        return self._library.policy.share_links != "signed_url"

    def _delete(self, owner: Owner, ref: str, confirmed: bool) -> Reply:
        if not confirmed:
            image = self._library.get(owner, ref)
            return Reply(
                f"Delete *{image.name}* (`{image.id}`)? This removes it and turns off its links.",
                items=[self._item(image)],
                buttons=[
                    Button(
                        "Delete",
                        command=f"delete {image.id} confirm",
                        style="danger",
                        confirm=Confirm(
                            "Delete this image?", f"{image.name} will be gone for good.", "Delete"
                        ),
                    )
                ],
            )
        image = self._library.delete(owner, ref)
        return Reply(f"Deleted *{image.name}*.")

    def _item(self, image: Image, *, share: bool = False, delete: bool = False) -> ImageItem:
        buttons = []
        if share:
            buttons.append(Button("Share", command=f"share {image.id}", style="primary"))
        if delete:
            buttons.append(Button("Delete", command=f"delete {image.id}", style="danger"))
        try:
            preview = self._library.preview_url(image)
        except CloudBoxError:
            preview = None  # the list still helps without pictures
        return ImageItem(image, preview, subtitle(image), buttons)


def _link_line(share: Share) -> str:
    views = _count(share.views, "view")
    return f"`{share.image.id}` *{share.image.name}* — {views}, until {human_time(share.expires_at)}"


def _usage_line(usage: str) -> str:
    """“• `/cloudbox list [page] [words]` — your images…”: the syntax as code, the rest as text
    (its examples carry code marks of their own, which must not sit inside another pair)."""
    syntax, _, what = usage.partition(" — ")
    return f"• `/cloudbox {syntax}` — {what}" if what else f"• `/cloudbox {syntax}`"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


__all__ = ["CommandCore", "human_size"]
