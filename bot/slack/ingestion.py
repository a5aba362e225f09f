"""Slack messages with files become durable ingest jobs, before the event is acknowledged.

Saved: files sent in a DM with the bot (`message`/`file_share`), files in a channel message
that mentions the bot (`app_mention`), and the files of any message through the "Save to
CloudBox" message shortcut. The download and the upload happen later, in the IngestWorker.

`files_to_save` is the one rule for events. Over HTTP the event gate (gate.py) applies it before
Bolt; over Socket Mode the Bolt listeners registered here do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeGuard

from slack_bolt import Ack, App, BoltContext, Respond

from bot import metrics
from bot.core import messages
from bot.ingest.doorbell import Doorbell
from storage.ingest_queue import IncomingFile, IngestQueue

from .file_ref import SlackFileRef
from .people import home_team, identity
from .private_apis import extract_enterprise_id, extract_team_id

log = logging.getLogger(__name__)

SHORTCUT_ID = "save_to_cloudbox"

# Slack's ids (T…, E…, U…, C…, D…, F…) are short and plain. Anything else is refused before it
# reaches the catalog, where an over-long value would fail the insert: a 500, and Slack would
# deliver the same event again and again.
_SLACK_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _is_slack_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _SLACK_ID.fullmatch(value) is not None


def incoming_files(
    files: list[dict[str, Any]],
    *,
    team_id: str | None,
    enterprise_id: str | None,
    user: str,
    channel: str,
    ts: str,
    thread_ts: str | None,
    private: bool,
    saved_by: str | None = None,
    user_team: str | None = None,
) -> list[IncomingFile]:
    """One IncomingFile per file of one message; the message is the batch (one reply)."""
    if not all(_is_slack_id(v) for v in (team_id or enterprise_id, user, channel, saved_by or "-")):
        return []
    # Who: keyed by the sender's own team (see people.home_team). Where: the workspace the
    # event came through, whose token fetches the file and replies.
    who = identity(user_team if _is_slack_id(user_team) else team_id, enterprise_id, user)
    batch = f"{who.tenant}:{channel}:{ts}" + (f":{saved_by}" if saved_by else "")
    out = []
    # Only well-formed file objects: anything else in `files` would crash the listener before
    # the ack (a 500, and Slack delivers the event again and again).
    for f in files if isinstance(files, list) else []:
        file_id = f.get("id") if isinstance(f, dict) else None
        if not _is_slack_id(file_id):
            continue
        # Slack Connect files ("mode": "file_access") come without URLs: files.info gives them.
        url = (
            None if f.get("mode") == "file_access" else f.get("url_private_download") or f.get("url_private")
        )
        ref = SlackFileRef(
            team=team_id,
            enterprise=enterprise_id,
            file=file_id,
            url=url,
            size=f.get("size") if isinstance(f.get("size"), int) else None,
            channel=channel,
            user=user,
            thread_ts=thread_ts or ts,
            private=private,
        )
        # Someone saving another person's message keeps their own copy: the job key includes them.
        key = f"{file_id}:saved-by:{saved_by}" if saved_by else file_id
        out.append(IncomingFile(who, key, str(f.get("name") or f.get("title") or ""), batch, ref))
    return out


def files_to_save(body: dict[str, Any]) -> list[IncomingFile]:
    """The files an Events API envelope asks CloudBox to save: none unless it is such a message."""
    event = body.get("event") if body.get("type") == "event_callback" else None
    if not isinstance(event, dict) or not event.get("files") or not isinstance(event.get("user"), str):
        return []
    if event.get("type") == "message" and event.get("subtype") == "file_share":
        if event.get("channel_type") != "im":
            return []  # in channels, only messages that mention the bot
        private = False  # a DM: the reply is as private as the message
    elif event.get("type") == "app_mention":
        private = True  # in a channel, only the sender sees what was saved
    else:
        return []
    return incoming_files(
        event["files"],
        # The workspace as Bolt's context has it (Slack Connect and org-wide installs included).
        team_id=extract_team_id(body),
        enterprise_id=extract_enterprise_id(body),
        user_team=home_team(body),
        user=event["user"],
        channel=str(event.get("channel") or ""),
        ts=str(event.get("ts") or ""),
        thread_ts=event.get("thread_ts") if isinstance(event.get("thread_ts"), str) else None,
        private=private,
    )


def persist(queue: IngestQueue, doorbell: Doorbell, files: list[IncomingFile]) -> None:
    """Persist before acknowledging: once Slack hears 200, the work survives a crash.

    A failure raises, the event is answered 500, and Slack delivers it again.
    """
    if not files:
        return
    if queue.enqueue(files):
        doorbell.ring()
    metrics.ACKS.labels("slack").inc()


def register(app: App, queue: IngestQueue, doorbell: Doorbell) -> None:
    # Over Socket Mode, events reach Bolt; over HTTP the gate has already saved the files.
    def save_files(body: dict[str, Any], next: Callable[[], None]) -> None:  # noqa: A002
        persist(queue, doorbell, files_to_save(body))
        next()

    @app.event({"type": "message", "subtype": "file_share"}, middleware=[save_files])
    def file_shared_in_message() -> None:
        return None

    @app.event("app_mention", middleware=[save_files])
    def mentioned() -> None:
        return None

    @app.shortcut(SHORTCUT_ID)
    def save_to_cloudbox(ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        message = body.get("message") or {}
        files = incoming_files(
            message.get("files") or [],
            team_id=context.team_id,
            enterprise_id=context.enterprise_id,
            user=body["user"]["id"],
            channel=(body.get("channel") or {}).get("id", ""),
            ts=message.get("ts", ""),
            thread_ts=message.get("thread_ts"),
            private=True,
            saved_by=body["user"]["id"],
            user_team=home_team(body),
        )
        added = queue.enqueue(files) if files else 0
        ack()
        if files:
            metrics.ACKS.labels("slack").inc()
        if added:
            doorbell.ring()
        elif not files:
            respond(text=messages.SHORTCUT_NO_FILES, response_type="ephemeral")
        else:
            respond(
                text=messages.SHORTCUT_ALREADY_SAVED,
                response_type="ephemeral",
            )
