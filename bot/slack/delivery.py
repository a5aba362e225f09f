"""Posting the ingest worker's replies back to Slack: one per message, where it came from.

DMs get a thread reply; channel mentions and the shortcut get a private (ephemeral) reply in
the thread, falling back to a DM when the bot cannot post in that channel.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import messages
from bot.core.commands import Actor
from bot.core.handler import CommandCore
from bot.core.replies import Reply
from bot.ingest.platform import Outcome
from storage.accounts import LinkMade
from storage.ingest_queue import Job

from . import blocks
from .file_ref import SlackFileRef
from .tokens import TokenSource

log = logging.getLogger(__name__)

_TOO_BIG = {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_attachments"}
_NO_EPHEMERAL_HERE = {"not_in_channel", "channel_not_found", "user_not_in_channel", "is_archived"}


class SlackDelivery:
    """`report` and `ask_to_link` of the Slack `ChatPlatform`: replies where the files came from."""

    def __init__(self, client: WebClient, tokens: TokenSource, core: CommandCore):
        self._client = client
        self._tokens = tokens
        self._core = core

    def report(self, outcomes: list[Outcome], linked_now: bool) -> None:
        if outcomes:
            reply = self._core.ingest_report(outcomes, linked_now=linked_now)
            self.post(outcomes[0].job, reply)

    def ask_to_link(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        job = jobs[0]
        reply = self._core.not_linked(Actor(job.identity))
        self.post(job, replace(reply, text=reply.text + messages.keeping_until_linked(len(jobs))))

    def tell_linked(self, made: LinkMade) -> None:
        """DM the person (the app's Messages tab) which Google account they just linked."""
        identity = made.identity
        enterprise = identity.tenant if identity.tenant.startswith("E") else None
        token = self._tokens.for_team(None if enterprise else identity.tenant, enterprise)
        reply = self._core.linked_notice(identity, made.email)
        self._client.chat_postMessage(token=token, channel=identity.chat_user, **blocks.message(reply))

    def post(self, job: Job, reply: Reply) -> None:
        """Send a reply for a job's message. Failures are logged (without secrets), not raised."""
        where = SlackFileRef.from_json(job.ref)
        try:
            token = self._tokens.for_team(where.team, where.enterprise)
            try:
                self._send(token, where, blocks.message(reply))
            except SlackApiError as exc:
                if _error(exc) not in _TOO_BIG:
                    raise
                # Slack refused the layout: a shorter answer beats none.
                log.warning(
                    "Slack refused the reply for batch %s (%s); sending it as text", job.batch, _error(exc)
                )
                self._send(token, where, blocks.short_message(reply))
        except SlackApiError as exc:
            log.warning(
                "could not reply for batch %s (team %s, channel %s): %s",
                job.batch,
                where.team,
                where.channel,
                _error(exc),
            )
        except Exception as exc:
            log.warning("could not reply for batch %s: %s", job.batch, type(exc).__name__)

    def _send(self, token: str, where: SlackFileRef, message: dict[str, Any]) -> None:
        if where.private:
            self._post_private(token, where, message)
        else:
            self._client.chat_postMessage(
                token=token, channel=where.channel, thread_ts=where.thread_ts, **message
            )

    def _post_private(self, token: str, where: SlackFileRef, message: dict[str, Any]) -> None:
        try:
            self._client.chat_postEphemeral(
                token=token,
                channel=where.channel,
                user=where.user,
                thread_ts=where.thread_ts,
                **message,
            )
        except SlackApiError as exc:
            if _error(exc) not in _NO_EPHEMERAL_HERE:
                raise
            # The bot is not in that channel: the person still hears back, in the app's DM.
            self._client.chat_postMessage(token=token, channel=where.user, **message)


def _error(exc: SlackApiError) -> str:
    response = exc.response
    return str(response.get("error")) if response is not None else type(exc).__name__
