"""`GET /s/<token>`: a share link. Counts the view and sends the visitor to a short-lived URL."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, make_response, redirect, request

from storage import messages as storage_messages
from storage.errors import Expired, NotFound, Revoked

from . import messages as m
from .metrics import SHARE_VIEWS
from .people import services
from .security import error_page

bp = Blueprint("shares", __name__)

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

# Chat apps fetch a posted link to show its preview: that fetch is not a person viewing it.
# (Slack's unfurler and image proxy; the others are the usual preview fetchers.)
_LINK_PREVIEWERS = re.compile(
    r"Slackbot-LinkExpanding|Slack-ImgProxy|facebookexternalhit|Twitterbot|Discordbot|"
    r"LinkedInBot|WhatsApp|TelegramBot|SkypeUriPreview|Iframely",
)


@bp.get("/s/<token>")
def open_share(token: str) -> Any:
    response: Any
    try:
        if not _TOKEN_RE.match(token):
            raise NotFound(storage_messages.LINK_DOES_NOT_EXIST)
        previewer = bool(_LINK_PREVIEWERS.search(request.headers.get("User-Agent", "")))
        _share, url = services().shares.open_share(token, count_view=not previewer)
        SHARE_VIEWS.labels("preview" if previewer else "counted").inc()
    except NotFound:
        SHARE_VIEWS.labels("gone").inc()
        response = error_page(m.LINK_NOT_FOUND_TITLE, m.LINK_NOT_FOUND, 404)
    except (Revoked, Expired) as exc:
        SHARE_VIEWS.labels("gone").inc()
        response = error_page(m.LINK_GONE_TITLE, m.link_gone(exc.message), 410)
    else:
        # 303: the visitor's browser fetches the image from storage with a URL valid for minutes.
        response = redirect(url, 303)
    return _no_store(response)


def _no_store(response: Any) -> Any:
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response
