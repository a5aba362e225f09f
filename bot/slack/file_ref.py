"""A Slack file to save, and where its reply goes: what an ingest job carries for Slack.

Stored in the queue as `to_json()` and read back by the fetcher and the delivery with
`from_json`, so the keys below are a stored format: add keys, never rename them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SlackFileRef:
    team: str | None  # the workspace the event came through: its token fetches and replies
    enterprise: str | None
    file: str  # Slack's file id
    url: str | None  # None for Slack Connect files, which files.info describes
    size: int | None
    channel: str
    user: str
    thread_ts: str | None
    private: bool  # answer only the sender (ephemeral), not the channel

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SlackFileRef:
        size = data.get("size")
        return cls(
            team=_text(data.get("team")),
            enterprise=_text(data.get("enterprise")),
            file=str(data.get("file") or ""),
            url=_text(data.get("url")),
            size=size if isinstance(size, int) else None,
            channel=str(data.get("channel") or ""),
            user=str(data.get("user") or ""),
            thread_ts=_text(data.get("thread_ts")),
            private=bool(data.get("private")),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
