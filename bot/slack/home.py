"""App Home: link status, recent images with previews, active links, and a link/unlink button."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.format import human_time, subtitle
from bot.core.replies import Button, ImageItem
from storage.accounts import Accounts, Identity
from storage.errors import CloudBoxError
from storage.library import Library
from storage.sharing import Shares

from . import blocks
from .people import identity

log = logging.getLogger(__name__)

RECENT = 5
MAX_LINKS = 10


class HomeView:
    def __init__(
        self, library: Library, shares: Shares, accounts: Accounts, link_url: Callable[[Identity], str]
    ):
        self._library = library
        self._shares = shares
        self._accounts = accounts
        self._link_url = link_url

    def view(self, who: Identity) -> dict[str, Any]:
        counter = blocks.ActionIds()
        out: list[dict[str, Any]] = [blocks.header("CloudBox")]
        owner = self._accounts.owner_of(who)
        if owner is None:
            out += blocks.sections(
                "Your Google account is not linked yet. Link it and every image you send me "
                "(in a DM, or with a mention) is kept in your own CloudBox library."
            )
            out.append(
                blocks.actions(
                    [Button("Link Google account", url=self._link_url(who), style="primary")], counter
                )
            )
            return {"type": "home", "blocks": out}
        out += blocks.sections(f"Linked to *{owner.email}*. Send me images in a DM to save them.")
        out.append(blocks.actions([Button("Unlink", command="unlink")], counter))
        page = self._library.list(owner, per_page=RECENT)
        out.append({"type": "divider"})
        out += blocks.sections(f"*Recent images* ({page.total} in all; `/cloudbox list` shows them all)")
        for image in page.images:
            out += blocks.image_item(ImageItem(image, self._preview(image), subtitle(image), []), counter)
        if not page.images:
            out += blocks.sections("No images yet.")
        out.append({"type": "divider"})
        shares = [*self._shares.links(owner)][:MAX_LINKS]  # a copy: mypy misreads the return type
        out += blocks.sections("*Active links*" if shares else "*Active links*\nNone.")
        for share in shares:
            line = (
                f"`{share.id}` {share.image.name} — {share.views} views, until {human_time(share.expires_at)}"
            )
            out += blocks.sections(line)
            out.append(
                blocks.actions([Button(f"Turn off {share.id}", command=f"unshare {share.id}")], counter)
            )
        return {"type": "home", "blocks": out[:100]}

    def _preview(self, image: Any) -> str | None:
        try:
            return self._library.preview_url(image)
        except CloudBoxError:
            return None

    def publish(self, client: WebClient, context: BoltContext) -> None:
        who = identity(context.team_id, context.enterprise_id, context.user_id or "")
        try:
            client.views_publish(user_id=who.chat_user, view=self.view(who))
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "error"
            log.warning("views.publish failed for team %s: %s", context.team_id, error)


def register(app: App, home: HomeView) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            home.publish(client, context)
