"""Slack messages with files become durable ingest jobs, before the event is acknowledged.

Saved: files sent in a DM with the bot (`message`/`file_share`), files in a channel message
that mentions the bot (`app_mention`), and the files of any message through the "Save to
CloudBox" message shortcut. The download and the upload happen later, in the IngestWorker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from storage.ingest import IncomingFile, IngestQueue, IngestWorker

from .people import identity

log = logging.getLogger(__name__)

SHORTCUT_ID = "save_to_cloudbox"


def incoming_files(
    files: list[dict[str, Any]],
    *,
    context: BoltContext,
    user: str,
    channel: str,
    ts: str,
    thread_ts: str | None,
    private: bool,
    saved_by: str | None = None,
) -> list[IncomingFile]:
    """One IncomingFile per file of one message; the message is the batch (one reply)."""
    who = identity(context.team_id, context.enterprise_id, user)
    batch = f"{who.tenant}:{channel}:{ts}" + (f":{saved_by}" if saved_by else "")
    out = []
    # Only well-formed file objects: anything else in `files` would crash the listener before
    # the ack (a 500, and Slack delivers the event again and again).
    for f in files if isinstance(files, list) else []:
        file_id = f.get("id") if isinstance(f, dict) else None
        if not isinstance(file_id, str) or not file_id:
            continue
        # Slack Connect files ("mode": "file_access") come without URLs: files.info gives them.
        url = (
            None if f.get("mode") == "file_access" else f.get("url_private_download") or f.get("url_private")
        )
        payload = {
            "team": context.team_id,
            "enterprise": context.enterprise_id,
            "file": file_id,
            "url": url,
            "size": f.get("size") if isinstance(f.get("size"), int) else None,
            "channel": channel,
            "user": user,
            "thread_ts": thread_ts or ts,
            "private": private,
        }
        # Someone saving another person's message keeps their own copy: the job key includes them.
        key = f"{file_id}:saved-by:{saved_by}" if saved_by else file_id
        out.append(IncomingFile(who, key, str(f.get("name") or f.get("title") or ""), batch, payload))
    return out


def register(app: App, queue: IngestQueue, worker: IngestWorker) -> None:
    def enqueue_then_ack(files: list[IncomingFile]) -> None:
        # Persisted before Bolt acknowledges: once Slack hears 200, the work survives a crash.
        # A failure here answers 500 and Slack delivers the event again.
        if files and queue.enqueue(files):
            worker.wake()

    def dm_files(event: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002
        if event.get("channel_type") == "im" and event.get("files") and event.get("user"):
            enqueue_then_ack(_from_event(event, context, private=False))
        next()

    def mention_files(event: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002
        if event.get("files") and event.get("user"):
            enqueue_then_ack(_from_event(event, context, private=True))
        next()

    @app.event({"type": "message", "subtype": "file_share"}, middleware=[dm_files])
    def file_shared_in_message() -> None:
        return None

    @app.event("app_mention", middleware=[mention_files])
    def mentioned() -> None:
        return None

    @app.shortcut(SHORTCUT_ID)
    def save_to_cloudbox(ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        message = body.get("message") or {}
        files = incoming_files(
            message.get("files") or [],
            context=context,
            user=body["user"]["id"],
            channel=(body.get("channel") or {}).get("id", ""),
            ts=message.get("ts", ""),
            thread_ts=message.get("thread_ts"),
            private=True,
            saved_by=body["user"]["id"],
        )
        added = queue.enqueue(files) if files else 0
        ack()
        if added:
            worker.wake()
        elif not files:
            respond(text="That message has no files for CloudBox to save.", response_type="ephemeral")
        else:
            respond(
                text="You already saved the files of that message (or they are being saved now).",
                response_type="ephemeral",
            )


def _from_event(event: dict[str, Any], context: BoltContext, *, private: bool) -> list[IncomingFile]:
    return incoming_files(
        event.get("files") or [],
        context=context,
        user=event["user"],
        channel=event.get("channel", ""),
        ts=event.get("ts", ""),
        thread_ts=event.get("thread_ts"),
        private=private,
    )
