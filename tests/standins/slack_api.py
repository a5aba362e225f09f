"""A threaded fake Slack Web API and file host on 127.0.0.1, recording every call it gets.

It answers the Web API methods CloudBox uses (auth.test, chat.postMessage, chat.postEphemeral,
files.info, views.publish, oauth.v2.access, ...), `response_url` posts, and serves files at
`/files/<id>/<name>` only to the bearer token of the workspace that owns them: anything else
gets a 302 to an HTML login page, as Slack does. Tests wait on the recording, never sleep.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LOGIN_PAGE = b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>"


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # Web API method ("chat.postMessage"), "response_url", "file", "login"
    path: str
    host: str
    authorization: str | None
    args: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)  # when it arrived (benchmarks)

    @property
    def token(self) -> str | None:
        auth = self.authorization or ""
        return auth[7:] if auth.startswith("Bearer ") else self.args.get("token")


@dataclass
class Team:
    team_id: str
    bot_token: str
    bot_user_id: str
    name: str = "Test Workspace"
    enterprise_id: str | None = None
    # users.info answers: user id -> profile ({"email": ..., "display_name": ...})
    users: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class FakeFile:
    id: str
    name: str
    data: bytes
    mimetype: str
    team_id: str
    answer: str = "file"  # "file" | "html" (a 200 login page) | "redirect_away"


@dataclass
class FakeSlack:
    """Start with `FakeSlack().start()`; `api_url` is the WebClient base URL."""

    teams: dict[str, Team] = field(default_factory=dict)
    files: dict[str, FakeFile] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    oauth_codes: dict[str, Team] = field(default_factory=dict)
    client_id: str = "111.222"
    client_secret: str = "fake-client-secret"
    refuse_blocks: int = 0  # answer this many more messages that carry blocks with invalid_blocks
    # Socket Mode: the app-level token and the ws:// URL apps.connections.open hands out.
    app_token: str | None = None
    socket_url: Callable[[], str] | None = None
    _rate_limited: dict[str, int] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(_Handler):
            slack = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.root}/api/"

    # -- test set-up -----------------------------------------------------------------------

    def add_team(self, team_id: str = "T0001", *, enterprise_id: str | None = None) -> Team:
        team = Team(
            team_id=team_id,
            bot_token=f"xoxb-{team_id}-{secrets.token_hex(8)}",
            bot_user_id=f"UB{team_id[1:]}",
            enterprise_id=enterprise_id,
        )
        self.teams[team.bot_token] = team
        return team

    def add_oauth_code(self, team_id: str) -> tuple[str, Team]:
        """A code that oauth.v2.access exchanges for a new workspace's bot token."""
        team = self.add_team(team_id)
        code = secrets.token_hex(8)
        self.oauth_codes[code] = team
        return code, team

    def add_file(
        self,
        team: Team,
        name: str,
        data: bytes,
        *,
        mimetype: str = "image/png",
        answer: str = "file",
        file_id: str | None = None,
    ) -> FakeFile:
        fake = FakeFile(
            file_id or "F" + secrets.token_hex(5).upper(), name, data, mimetype, team.team_id, answer
        )
        self.files[fake.id] = fake
        return fake

    def file_url(self, fake: FakeFile, *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/files/{fake.id}/{fake.name}"

    def file_object(self, fake: FakeFile, *, host: str = "127.0.0.1") -> dict[str, Any]:
        """The `files[]` entry of a message event, as Slack sends it."""
        url = self.file_url(fake, host=host)
        return {
            "id": fake.id,
            "name": fake.name,
            "title": fake.name,
            "mimetype": fake.mimetype,
            "filetype": fake.name.rsplit(".", 1)[-1],
            "size": len(fake.data),
            "url_private": url,
            "url_private_download": url + "?download=1",
        }

    def response_url(self) -> str:
        return f"{self.root}/response/{secrets.token_hex(6)}"

    def rate_limit(self, method: str, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and `Retry-After: 0`."""
        with self._cond:
            self._rate_limited[method] = times

    # -- the recording ---------------------------------------------------------------------

    def record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def matching(self, method: str, where: Callable[[Call], bool] | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (where is None or where(c))]

    def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Block until `count` calls of `method` (matching `where`) arrived; fail after `timeout`."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.matching(method, where)) >= count, timeout)
            if not ok:
                seen = [(c.method, c.path) for c in self.calls]
                raise AssertionError(f"expected {count} x {method}; the fake saw {seen}")
            return self.matching(method, where)

    def tokens_seen(self) -> Iterator[str]:
        with self._cond:
            return iter([c.token for c in self.calls if c.token])

    def take_rate_limit(self, method: str) -> bool:
        with self._cond:
            left = self._rate_limited.get(method, 0)
            if left:
                self._rate_limited[method] = left - 1
            return bool(left)


class _Handler(BaseHTTPRequestHandler):
    slack: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        return None

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._route({})

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if "json" in (self.headers.get("Content-Type") or ""):
            args = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode()))
        self._route(args)

    def _route(self, body: dict[str, Any]) -> None:
        parts = urlsplit(self.path)
        args = {**dict(parse_qsl(parts.query)), **body}
        host = self.headers.get("Host", "")
        auth = self.headers.get("Authorization")
        if parts.path.startswith("/api/"):
            method = parts.path[len("/api/") :]
            self.slack.record(Call(method, parts.path, host, auth, args))
            if self.slack.take_rate_limit(method):
                return self._send(429, b'{"ok":false,"error":"ratelimited"}', "application/json", retry=True)
            return self._json(self._api(method, args, auth))
        if parts.path.startswith("/response/"):
            self.slack.record(Call("response_url", parts.path, host, auth, args))
            return self._send(200, b"ok", "text/plain")
        if parts.path.startswith("/files/"):
            self.slack.record(Call("file", parts.path, host, auth, args))
            return self._file(parts.path, auth)
        if parts.path.startswith("/login"):
            self.slack.record(Call("login", parts.path, host, auth, args))
            return self._send(200, LOGIN_PAGE, "text/html; charset=utf-8")
        self._send(404, b"not found", "text/plain")

    # -- Web API ---------------------------------------------------------------------------

    def _team(self, auth: str | None, args: dict[str, Any]) -> Team | None:
        token = auth[7:] if auth and auth.startswith("Bearer ") else args.get("token")
        return self.slack.teams.get(token or "")

    def _api(self, method: str, args: dict[str, Any], auth: str | None) -> dict[str, Any]:
        if method == "oauth.v2.access":
            return self._oauth(args, auth)
        if method == "apps.connections.open":
            if self.slack.socket_url is None or auth != f"Bearer {self.slack.app_token}":
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.slack.socket_url()}
        team = self._team(auth, args)
        if team is None:
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": team.name,
                "user": "cloudbox",
                "team_id": team.team_id,
                "user_id": team.bot_user_id,
                "bot_id": "B" + team.team_id[1:],
                "enterprise_id": team.enterprise_id,
                "is_enterprise_install": False,
            }
        if method == "users.info":
            profile = team.users.get(args.get("user", ""))
            if profile is None:
                return {"ok": False, "error": "user_not_found"}
            return {
                "ok": True,
                "user": {"id": args["user"], "team_id": team.team_id, "name": "u", "profile": profile},
            }
        if method == "files.info":
            fake = self.slack.files.get(args.get("file", ""))
            if fake is None or fake.team_id != team.team_id:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": self.slack.file_object(fake)}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            if not args.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if str(args["channel"]).startswith("CNOTIN") and method == "chat.postEphemeral":
                return {"ok": False, "error": "not_in_channel"}
            if args.get("blocks") and self.slack.refuse_blocks > 0:
                self.slack.refuse_blocks -= 1
                return {"ok": False, "error": "invalid_blocks"}
            ts = f"{secrets.randbelow(10**9)}.{secrets.randbelow(10**6):06d}"
            return {"ok": True, "channel": args["channel"], "ts": ts, "message_ts": ts}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V" + secrets.token_hex(4).upper()}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))}}
        return {"ok": False, "error": "unknown_method"}

    def _oauth(self, args: dict[str, Any], auth: str | None) -> dict[str, Any]:
        import base64

        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if auth and auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (client_id, client_secret) != (self.slack.client_id, self.slack.client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        team = self.slack.oauth_codes.pop(args.get("code", ""), None)
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": "A0CLOUDBOX",
            "authed_user": {"id": "UINSTALLER"},
            "scope": "chat:write,commands,files:read,im:history,app_mentions:read",
            "token_type": "bot",
            "access_token": team.bot_token,
            "bot_user_id": team.bot_user_id,
            "team": {"id": team.team_id, "name": team.name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # -- files -----------------------------------------------------------------------------

    def _file(self, path: str, auth: str | None) -> None:
        file_id = path.split("/")[2]
        fake = self.slack.files.get(file_id)
        team = self._team(auth, {})
        if fake is None or team is None or team.team_id != fake.team_id:
            return self._redirect(f"http://127.0.0.1:{self.slack.port}/login?redir=files")
        if fake.answer == "html":
            return self._send(200, LOGIN_PAGE, "text/html; charset=utf-8")
        if fake.answer == "redirect_away":
            return self._redirect(f"http://localhost:{self.slack.port}/files/{fake.id}/{fake.name}")
        self._send(200, fake.data, fake.mimetype)

    # -- plumbing --------------------------------------------------------------------------

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, payload: dict[str, Any]) -> None:
        self._send(200, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str, *, retry: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if retry:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)
