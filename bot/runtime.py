"""What both chat bots share in one process: the command core, the ingest queue and its bell.

The ingest worker is built after the front ends (it is handed each one's `ChatPlatform`), so
the front ends ring `doorbell` when they enqueue instead of holding the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.ingest.doorbell import Doorbell
from storage.accounts import ChatProfile, Identity
from storage.ingest_queue import IngestQueue
from storage.link_urls import make_link_url
from storage.services import Services

from .core.commands import Actor
from .core.handler import CommandCore

log = logging.getLogger(__name__)

ProfileLookup = Callable[[Identity], ChatProfile | None]


@dataclass
class ChatRuntime:
    core: CommandCore
    queue: IngestQueue
    doorbell: Doorbell
    link_url: Callable[[Actor], str]  # a one-time link offer for whoever asks
    # Per platform, how to ask it who a person is when the request did not say (Slack's
    # users.info); a front end that has one sets it when it is built.
    profiles: dict[str, ProfileLookup] = field(default_factory=dict)

    @classmethod
    def build(cls, services: Services) -> ChatRuntime:
        profiles: dict[str, ProfileLookup] = {}

        def link_url(actor: Actor) -> str:
            return make_link_url(
                services.settings,
                services.accounts,
                actor.identity,
                profile=actor.profile or _lookup(profiles, actor.identity),
                reply_to=actor.reply_to,
            )

        return cls(
            core=CommandCore(services.library, services.shares, services.accounts, link_url=link_url),
            queue=IngestQueue(services.engine),
            doorbell=Doorbell(),
            link_url=link_url,
            profiles=profiles,
        )


def _lookup(profiles: dict[str, ProfileLookup], identity: Identity) -> ChatProfile | None:
    lookup = profiles.get(identity.platform)
    if lookup is None:
        return None
    try:
        return lookup(identity)
    except Exception:  # no profile only means the person confirms on the web page
        log.warning("could not look up the %s profile of a person asking to link", identity.platform)
        return None
