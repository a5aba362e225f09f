"""What the ingest worker needs from a chat platform, and what it hands back.

Each adapter (bot/slack, bot/gchat) gives the worker one `ChatPlatform` when the worker is
built: how to download a job's file, and how to answer for a message's files. The job's `ref`
is the adapter's own file reference in its JSON form; only that adapter reads it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from storage.ingest_queue import Job
from storage.model import Image


@dataclass(frozen=True)
class Outcome:
    """What became of one job's file: the image it is now, or why it was refused."""

    job: Job
    image: Image | None
    refused: str | None
    created: bool = False


class ChatPlatform(Protocol):
    def fetch(self, job: Job) -> AbstractContextManager[BinaryIO]:
        """The file's bytes, streamed; raises `Rejected` for a file that will never come."""
        ...

    def report(self, outcomes: list[Outcome], linked_now: bool) -> None:
        """Answer the message these files came in: what was saved and what was refused."""
        ...

    def ask_to_link(self, jobs: list[Job]) -> None:
        """The sender has no Google account linked yet: their files wait for it."""
        ...
