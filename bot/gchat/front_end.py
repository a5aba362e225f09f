"""The Google Chat front end: the verified endpoint, the handler and the Chat API client."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import Blueprint

from bot.ingest.platform import Outcome
from bot.runtime import ChatRuntime
from storage.accounts import LinkMade
from storage.ingest_queue import Job
from storage.services import Services

from .blueprint import make_blueprint
from .handler import GchatHandler
from .media import ChatApi, chat_credentials
from .verify import CertCache, ChatTokenVerifier


@dataclass
class GchatFrontEnd:
    """The Google Chat `ChatFrontEnd` (see bot/front_end.py)."""

    verifier: ChatTokenVerifier
    handler: GchatHandler
    api: ChatApi

    @property
    def name(self) -> str:
        return "gchat"

    def fetch(self, job: Job) -> AbstractContextManager[BinaryIO]:
        return self.handler.fetch(job)

    def report(self, outcomes: list[Outcome], linked_now: bool) -> None:
        self.handler.report(outcomes, linked_now)

    def ask_to_link(self, jobs: list[Job]) -> None:
        self.handler.ask_to_link(jobs)

    def tell_linked(self, made: LinkMade) -> None:
        self.handler.tell_linked(made)

    def blueprint(self) -> Blueprint | None:
        return make_blueprint(self.verifier, self.handler)  # POST /gchat/events

    def wrap(self, wsgi_app: Any) -> Any:
        return wsgi_app

    def connect(self) -> Callable[[], None] | None:
        return None


def front_end(services: Services, chat: ChatRuntime) -> GchatFrontEnd | None:
    """The Chat bot over the process's shared chat runtime, when Google Chat is configured."""
    settings = services.settings
    if not settings.gchat_enabled:
        return None
    assert settings.gchat_audience, "the Google Chat bot needs GCHAT_AUDIENCE"
    # The Chat API as the app; its credentials are made on first use.
    api = ChatApi(
        settings.gchat_api_url, lambda: chat_credentials(settings), max_bytes=settings.max_upload_bytes
    )
    handler = GchatHandler(settings, services.accounts, chat.core, chat.queue, chat.doorbell, api)
    verifier = ChatTokenVerifier(
        settings.gchat_audience,
        CertCache(settings.effective_gchat_certs_url),
        project_number=settings.gchat_project_number,
    )
    return GchatFrontEnd(verifier, handler, api)
