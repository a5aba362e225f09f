"""What a chat platform's front end gives the composition root: the one interface to implement.

A front end is built by its package's `front_end(services, chat)` (None when the settings do
not enable it). It is the ingest worker's `ChatPlatform` for its own jobs, tells people when a
link is made, and may mount routes, wrap the WSGI app and hold a background connection.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, BinaryIO, Protocol

from flask import Blueprint

from storage.accounts import LinkMade
from storage.ingest_queue import Job

from .ingest.platform import Outcome

WsgiApp = Any


class ChatFrontEnd(Protocol):
    @property
    def name(self) -> str:
        """The platform's name in identities and jobs ("slack", "gchat")."""
        ...

    # The ingest worker's ChatPlatform for this platform's jobs.
    def fetch(self, job: Job) -> AbstractContextManager[BinaryIO]: ...

    def report(self, outcomes: list[Outcome], linked_now: bool) -> None: ...

    def ask_to_link(self, jobs: list[Job]) -> None: ...

    def tell_linked(self, made: LinkMade) -> None:
        """Say where the link was asked for which Google account is now linked."""
        ...

    def blueprint(self) -> Blueprint | None:
        """The platform's HTTP routes, if it receives requests over HTTP."""
        ...

    def wrap(self, wsgi_app: WsgiApp) -> WsgiApp:
        """WSGI middleware the platform needs in front of the app (or `wsgi_app` itself)."""
        ...

    def connect(self) -> Callable[[], None] | None:
        """Open a background connection (Slack's Socket Mode); returns how to close it."""
        ...
