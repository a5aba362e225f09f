"""A local Slack Socket Mode server: `apps.connections.open` hands out its ws:// URL.

It speaks the protocol Slack documents: on connect it sends `hello`; it sends envelopes
(`events_api`, `slash_commands`, `interactive`) and records each acknowledgement, with the time
it took; `disconnect()` asks the client to reconnect, as Slack does every few hours. Tests wait on
the recording, never sleep.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    after: float  # seconds from sending the envelope to its acknowledgement
    payload: dict[str, Any] | None


@dataclass
class FakeSocketMode:
    app_token: str = field(default_factory=lambda: "xapp-1-A0CLOUDBOX-" + secrets.token_hex(8))
    connections: list[ServerConnection] = field(default_factory=list)
    acks: dict[str, list[Ack]] = field(default_factory=dict)
    _sent_at: dict[str, float] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: Server | None = None

    def start(self) -> FakeSocketMode:
        self._server = serve(self._handle, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={secrets.token_hex(8)}"

    # -- what a test does ------------------------------------------------------------------

    def wait_connected(self, count: int = 1, timeout: float = 30) -> ServerConnection:
        """The newest connection, once `count` have been opened in all."""
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.connections) >= count, timeout), "no connection"
            return self.connections[-1]

    def send(self, kind: str, payload: dict[str, Any], *, envelope_id: str | None = None) -> str:
        """Send one envelope on the newest connection; the same id again is Slack's redelivery."""
        envelope_id = envelope_id or secrets.token_hex(12)
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        connection = self.wait_connected()
        with self._cond:
            self._sent_at[envelope_id] = time.monotonic()
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, count: int = 1, timeout: float = 30) -> Ack:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.acks.get(envelope_id, [])) >= count, timeout), (
                f"envelope {envelope_id} not acknowledged"
            )
            return self.acks[envelope_id][count - 1]

    def disconnect(self) -> None:
        """Ask the client to reconnect, as Slack does before it refreshes a connection."""
        self.wait_connected().send(json.dumps({"type": "disconnect", "reason": "refresh_requested"}))

    # -- the server side -------------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        with self._cond:
            self.connections.append(connection)
            self._cond.notify_all()
        connection.send(json.dumps({"type": "hello", "num_connections": len(self.connections)}))
        try:
            for message in connection:
                ack = json.loads(message)
                envelope_id = ack.get("envelope_id")
                if not isinstance(envelope_id, str):
                    continue
                with self._cond:
                    after = time.monotonic() - self._sent_at.get(envelope_id, time.monotonic())
                    self.acks.setdefault(envelope_id, []).append(Ack(envelope_id, after, ack.get("payload")))
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
