"""Listing cursors: where the next page of a library starts, as a token only CloudBox can make.

A "next page" link or button carries one: the owner it belongs to, the page number it opens,
and the last image shown (its time and id), signed with the instance's secret (itsdangerous).
A token that was altered, made up, or made for another owner is refused with `BadCursor`; a
query is scoped to its owner in any case, so a cursor can never reach another library.
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

from . import messages
from .catalog import Position
from .errors import Rejected

SALT = "cloudbox.listing-cursor"


class BadCursor(Rejected):
    """A page token CloudBox did not make for this person (altered, invented, or another's)."""

    def __init__(self) -> None:
        super().__init__(messages.BAD_CURSOR)


class ListingCursors:
    def __init__(self, secret: str):
        self._serializer = URLSafeSerializer(secret, salt=SALT)

    def make(self, owner_id: int, page: int, last: Position) -> str:
        return self._serializer.dumps([owner_id, page, last.created_at.isoformat(), last.image_id])

    def read(self, token: str, owner_id: int) -> tuple[int, Position]:
        """The page number and position `token` stands for; BadCursor for anything else."""
        try:
            owner, page, at, image_id = self._serializer.loads(token)
            position = Position(datetime.fromisoformat(at), str(image_id))
        except (BadSignature, ValueError, TypeError):
            raise BadCursor() from None
        if owner != owner_id or not isinstance(page, int) or page < 2:
            raise BadCursor()
        return page, position
