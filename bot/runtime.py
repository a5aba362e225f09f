"""What both chat bots share in one process: the command core and the ingestion queue."""

from __future__ import annotations

from dataclasses import dataclass

from storage.accounts import Identity
from storage.ingest import IngestQueue, IngestWorker
from storage.link_urls import make_link_url
from storage.services import Services

from .core.handler import CommandCore


@dataclass
class ChatRuntime:
    core: CommandCore
    queue: IngestQueue
    worker: IngestWorker

    @classmethod
    def build(cls, services: Services, *, threads: int = 4) -> ChatRuntime:
        def link_url(identity: Identity) -> str:
            return make_link_url(services.settings, services.accounts, identity)

        queue = IngestQueue(services.sessions)
        return cls(
            core=CommandCore(services.library, services.accounts, link_url=link_url),
            queue=queue,
            worker=IngestWorker(queue, services.library, services.accounts, threads=threads),
        )
