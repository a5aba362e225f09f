"""What the Google Chat bot does with a verified event; the answer is the event response.

Who is who: a Chat person is `Identity("gchat", tenant, user.name)`. `user.name` (users/<id>)
is already unique across Google; the tenant is the person's Workspace customer (`domainId`) when
Chat sends one, else "gchat" (consumer accounts have none). The tenant only groups identities;
it never widens who may act for whom.

Images: the files of a message are persisted in the ingest queue before the event is answered
(so a crash after the answer loses nothing, and a repeated delivery is one job per attachment),
the answer says "Saving N images…", and the worker posts the final card later through the Chat
API. Working synchronously inside Chat's 30-second window was the alternative; it would hold the
request open for large files and lose the files if the process died before answering.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from contextlib import AbstractContextManager
from typing import Any, BinaryIO

from bot import metrics
from bot.core import messages
from bot.core.commands import Actor, Command, Help, Invalid, parse
from bot.core.handler import CommandCore
from bot.core.replies import Reply
from bot.core.rich import Rich
from bot.ingest.doorbell import Doorbell
from bot.ingest.platform import Outcome
from storage.accounts import Accounts, ChatProfile, Identity, LinkMade
from storage.ingest_queue import IncomingFile, IngestQueue, Job
from storage.link_urls import make_link_url
from storage.settings import Settings

from . import cards
from .events import ChatEvent, ChatUser
from .file_ref import ChatFileRef
from .media import ChatApi, ChatApiRefused, ChatMediaFetcher

log = logging.getLogger(__name__)

PLATFORM = "gchat"


def identity_of(user: ChatUser) -> Identity:
    return Identity(PLATFORM, user.domain_id or PLATFORM, user.name)


class GchatHandler:
    """Answers Chat events, and is the Google Chat `ChatPlatform` of the ingest worker."""

    def __init__(
        self,
        settings: Settings,
        accounts: Accounts,
        core: CommandCore,
        queue: IngestQueue,
        doorbell: Doorbell,
        api: ChatApi,
    ):
        self._settings = settings
        self._accounts = accounts
        self._core = core
        self._queue = queue
        self._doorbell = doorbell
        self._api = api
        self._fetcher = ChatMediaFetcher(api)
        audience = settings.gchat_audience or ""
        # Add-on buttons must name the endpoint URL; the configured audience is exactly that
        # when it is a URL.
        self.endpoint_url = audience if audience.startswith("http") else settings.url_for("/gchat/events")

    # -- events ---------------------------------------------------------------------------

    def handle(self, event: ChatEvent) -> dict[str, Any]:
        user = event.user
        if user is None or not user.is_human or event.kind in ("removed", "other"):
            return {}
        if not self._settings.access.allows_gchat(user.domain_id or None):
            # Before anything is stored or a link offered: another Workspace customer, or a
            # consumer account (no domainId) when the admin named customers.
            log.info("Chat event from a customer outside the access policy refused")
            self._accounts.audit.record(
                "refused",
                who=f"gchat {user.domain_id or 'no customer'}",
                detail="customer outside the access policy",
            )
            return self._say(event, user, Reply(Rich.of(messages.GCHAT_REFUSAL)))
        if event.kind == "click":
            return self._click(event, user)
        if event.attachments:
            return self._ingest(event, user)
        if event.kind == "added" and not event.text:
            return cards.respond(event, self._message(event, user, Reply(messages.GREETING, public=True)))
        if event.kind == "command" and event.command_id != self._settings.gchat_command_id:
            return self._say(event, user, Reply(messages.UNKNOWN_COMMAND))
        return self._command(event, user, parse(event.text))

    def _command(self, event: ChatEvent, user: ChatUser, command: Command) -> dict[str, Any]:
        identity = identity_of(user)
        needs_account = not isinstance(command, Help | Invalid)
        if needs_account and event.config_complete_url and self._accounts.owner_of(identity) is None:
            return self._request_config(event, identity)
        reply = self._core.run(_actor(event, user), command)
        return self._say(event, user, reply)

    def _click(self, event: ChatEvent, user: ChatUser) -> dict[str, Any]:
        params = event.parameters
        if params.get(cards.CANCEL_PARAM):
            return self._say(event, user, Reply(messages.NOTHING_CHANGED))
        if params.get(cards.CONFIRM_PARAMS[0]):
            return self._say(event, user, cards.confirmation(params))
        return self._command(event, user, parse(params.get(cards.COMMAND_PARAM, "")))

    def _ingest(self, event: ChatEvent, user: ChatUser) -> dict[str, Any]:
        identity = identity_of(user)
        linked = self._accounts.owner_of(identity) is not None
        batch = f"gchat:{event.message_name or secrets.token_hex(8)}"
        files = [
            IncomingFile(
                identity=identity,
                file_id=a.file_id,
                file_name=a.content_name,
                batch=batch,
                ref=ChatFileRef(
                    space=event.space_name,
                    thread=event.thread_name,
                    format=event.format,
                    viewer="" if event.space_is_dm else user.name,
                    asked_to_link=not linked and bool(event.config_complete_url),
                    # For a link offered later by the worker: what Chat said about the sender.
                    email="" if linked else user.email,
                    display_name="" if linked else user.display_name,
                    resource_name=a.resource_name,
                    source=a.source,
                    content_type=a.content_type,
                ),
            )
            for a in event.attachments
        ]
        added = self._queue.enqueue(files)  # persisted before we answer: survives a crash
        self._doorbell.ring()
        metrics.ACKS.labels(PLATFORM).inc()
        if not linked:
            if event.config_complete_url:
                return self._request_config(event, identity)
            return self._say(event, user, self._core.not_linked(_actor(event, user)))
        count = len(files)
        text = messages.already_saving(count) if added == 0 else messages.saving(count)
        return self._say(event, user, Reply(text))

    def _request_config(self, event: ChatEvent, identity: Identity) -> dict[str, Any]:
        assert event.user is not None
        actor = _actor(event, event.user)
        url = make_link_url(
            self._settings,
            self._accounts,
            identity,
            return_url=event.config_complete_url,
            profile=actor.profile,
            reply_to=actor.reply_to,
        )
        return cards.request_config(event, url)

    def _say(self, event: ChatEvent, user: ChatUser, reply: Reply) -> dict[str, Any]:
        return cards.respond(event, self._message(event, user, reply))

    def _message(self, event: ChatEvent, user: ChatUser, reply: Reply) -> dict[str, Any]:
        viewer = None if reply.public or event.space_is_dm else user.name
        return cards.message(reply, fmt=event.format, endpoint_url=self.endpoint_url, viewer=viewer)

    def tell_linked(self, made: LinkMade) -> None:
        """Say in the space the link was asked from which Google account is now linked."""
        if not made.reply_to:
            return
        reply = self._core.linked_notice(made.identity, made.email)
        body = cards.message(reply, fmt="classic", endpoint_url=self.endpoint_url, viewer=None)
        request_id = (
            "cloudbox-linked-"
            + hashlib.sha256(f"{made.identity}|{made.email}|{made.reply_to}".encode()).hexdigest()[:32]
        )
        self._api.create_message(made.reply_to, body, request_id=request_id)

    # -- the ingest worker's ChatPlatform --------------------------------------------------

    def fetch(self, job: Job) -> AbstractContextManager[BinaryIO]:
        return self._fetcher(job)  # type: ignore[no-any-return]

    def report(self, outcomes: list[Outcome], linked_now: bool) -> None:
        """Post the one card for a message's files: what was saved, what was refused."""
        reply = self._core.ingest_report(outcomes, linked_now=linked_now)
        self._post(outcomes[0].job, reply, _request_id("report", [o.job for o in outcomes]))

    def ask_to_link(self, jobs: list[Job]) -> None:
        """The sender has not linked yet: their files wait an hour; tell them once."""
        job = jobs[0]
        ref = ChatFileRef.from_json(job.ref)
        if ref.asked_to_link:
            # Chat already showed the linking prompt when the message arrived.
            reply = Reply(messages.keeping_until_prompt(len(jobs)))
        else:
            profile = ChatProfile(ref.email, ref.display_name)
            reply = self._core.not_linked(Actor(job.identity, profile=profile, reply_to=ref.space or None))
        self._post(job, reply, _request_id("ask-to-link", jobs))

    def _post(self, job: Job, reply: Reply, request_id: str) -> None:
        ref = ChatFileRef.from_json(job.ref)
        viewer = None if reply.public else (ref.viewer or None)
        body = cards.message(reply, fmt=ref.format, endpoint_url=self.endpoint_url, viewer=viewer)
        space, thread = ref.space, ref.thread
        try:
            self._api.create_message(space, body, thread_name=thread, request_id=request_id)
        except ChatApiRefused:
            # A shorter answer beats none: the text alone, which Chat takes whatever the card was.
            log.warning("Chat refused the reply for batch %s; sending it as text", job.batch)
            short = cards.short_message(reply, viewer=viewer)
            self._api.create_message(space, short, thread_name=thread, request_id=request_id + "-text")


def _actor(event: ChatEvent, user: ChatUser) -> Actor:
    """The asker, with what Chat says about them: their email is in the event for Workspace users."""
    profile = ChatProfile(email=user.email, display_name=user.display_name)
    return Actor(identity_of(user), user.display_name, profile=profile, reply_to=event.space_name or None)


def _request_id(kind: str, jobs: list[Job]) -> str:
    """The same for a report sent again (its claim outlived a dead process), so Chat posts it
    once; new for a later report on the same files (they ran again, so their attempts moved)."""
    done = ",".join(f"{job.id}.{job.attempts}" for job in sorted(jobs, key=lambda j: j.id))
    return f"cloudbox-{kind}-" + hashlib.sha256(f"{jobs[0].batch}|{done}".encode()).hexdigest()[:32]
