"""`GET /s/<token>`: a share link. Counts the view and sends the visitor to a short-lived URL."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, redirect

from storage.errors import Expired, NotFound, Revoked

from .people import services
from .security import error_page

bp = Blueprint("shares", __name__)

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


@bp.get("/s/<token>")
def open_share(token: str) -> Any:
    response: Any
    try:
        if not _TOKEN_RE.match(token):
            raise NotFound("This link does not exist.")
        _share, url = services().library.open_share(token)
    except NotFound:
        response = error_page(
            "Link not found", "This link does not exist. Check that it was copied completely.", 404
        )
    except (Revoked, Expired) as exc:
        response = error_page("Link no longer works", exc.message + " Ask the sender for a new one.", 410)
    else:
        # 303: the visitor's browser fetches the image from storage with a URL valid for minutes.
        response = redirect(url, 303)
    return _no_store(response)


def _no_store(response: Any) -> Any:
    from flask import make_response

    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response
