"""`/cloudbox …`, button clicks and DM text, run through the platform-neutral command core.

Slack wants an answer within 3 s: every handler acknowledges first, then works, then posts
the reply to the `response_url` (private unless the core marks it public, i.e. `share`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import messages
from bot.core.handler import CommandCore
from bot.core.replies import Reply

from . import blocks
from .people import actor

log = logging.getLogger(__name__)

COMMAND = "/cloudbox"


def register(
    app: App, core: CommandCore, *, on_home_action: Callable[[WebClient, BoltContext], None]
) -> None:
    app.command(COMMAND)(_slash_command(core))
    app.action(blocks.COMMAND_ACTION_RE)(_button(core, on_home_action))
    app.action(blocks.URL_ACTION_RE)(_link_button)
    app.event("message")(_dm_text(core))


def _slash_command(core: CommandCore) -> Callable[..., None]:
    def slash_command(ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        ack()
        reply = core.handle(actor(context, body), body.get("text") or "")
        _respond(respond, reply, what="command")

    return slash_command


def _button(
    core: CommandCore, on_home_action: Callable[[WebClient, BoltContext], None]
) -> Callable[..., None]:
    def button(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond | None,
    ) -> None:
        ack()
        command = str(action.get("value") or "help")
        reply = core.handle(actor(context, body), command)
        if (body.get("container") or {}).get("type") == "view" or not body.get("response_url"):
            # A click in App Home has no response_url: answer in the app's DM, refresh Home.
            _post_dm(client, context, reply)
            on_home_action(client, context)
            return
        assert respond is not None
        # Paging rewrites the list in place; anything else is a new message below it.
        paging = command.split(" ", 1)[0].lower() == "list" and not reply.public
        _respond(respond, reply, what="button", replace_original=paging)

    return button


def _link_button(ack: Ack) -> None:
    ack()  # the browser opens the URL; Slack still expects the click acknowledged


def _dm_text(core: CommandCore) -> Callable[..., None]:
    def dm_text(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        # Plain DM text is a command ("list 2"); edits, joins, other subtypes and channel
        # chatter are acknowledged and ignored.
        if event.get("channel_type") != "im" or event.get("subtype") or not event.get("user"):
            return
        if not (event.get("text") or "").strip():
            return
        reply = core.handle(actor(context, event), event["text"])
        message = blocks.message(reply)
        try:
            client.chat_postMessage(channel=event["channel"], thread_ts=event.get("thread_ts"), **message)
        except SlackApiError as exc:
            _log_api_error("DM reply", context, exc)

    return dm_text


def _respond(respond: Respond, reply: Reply, *, what: str, replace_original: bool = False) -> None:
    message = blocks.message(reply)
    kind = "in_channel" if reply.public else "ephemeral"
    try:
        respond(**message, response_type=kind, replace_original=replace_original)
    except Exception as exc:  # the response_url expired or Slack refused the blocks
        reference = secrets.token_hex(4)
        log.warning("%s reply failed (reference %s): %s", what, reference, type(exc).__name__)
        try:
            respond(
                text=blocks.mrkdwn_text(messages.slack_refused_answer(reference)), response_type="ephemeral"
            )
        except Exception:
            log.warning("could not tell the person either (reference %s)", reference)


def _post_dm(client: WebClient, context: BoltContext, reply: Reply) -> None:
    try:
        client.chat_postMessage(channel=context.user_id or "", **blocks.message(reply))
    except SlackApiError as exc:
        _log_api_error("Home reply", context, exc)


def _log_api_error(what: str, context: BoltContext, exc: SlackApiError) -> None:
    error = exc.response.get("error") if exc.response is not None else type(exc).__name__
    log.warning("%s failed for team %s: %s", what, context.team_id, error)
