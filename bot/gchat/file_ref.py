"""A Google Chat attachment to save, and where its reply goes: what an ingest job carries.

Stored in the queue as `to_json()` and read back with `from_json`, so the keys below are a
stored format: add keys, never rename them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .events import Format


@dataclass(frozen=True)
class ChatFileRef:
    space: str
    thread: str
    format: Format  # how the event came: the reply is written the same way
    viewer: str  # in a space, the only person who sees the reply; "" in a DM
    asked_to_link: bool  # Chat already showed its own linking prompt with the message
    # What Chat said about a sender who was not linked yet, for the link the worker offers.
    email: str
    display_name: str
    resource_name: str  # the attachment's media resource; "" for Drive files
    source: str  # UPLOADED_CONTENT or DRIVE_FILE
    content_type: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChatFileRef:
        def text(key: str) -> str:
            return str(data.get(key) or "")

        return cls(
            space=text("space"),
            thread=text("thread"),
            format="addon" if data.get("format") == "addon" else "classic",
            viewer=text("viewer"),
            asked_to_link=bool(data.get("asked_to_link")),
            email=text("email"),
            display_name=text("display_name"),
            resource_name=text("resource_name"),
            source=text("source"),
            content_type=text("content_type"),
        )
