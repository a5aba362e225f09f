"""CloudBox configuration: the one place that reads the environment.

`Settings.from_env()` reads the process environment and a `.env` file, checks every value and
reports every problem at once, by name. Everything else in CloudBox receives a `Settings`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .access import AccessPolicy, parse_policy
from .once import write_once

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_OAUTH_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
GCHAT_PROJECT_CERTS_URL = (
    "https://www.googleapis.com/service_accounts/v1/metadata/x509/chat@system.gserviceaccount.com"
)
GOOGLE_OAUTH_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
DEFAULT_GCHAT_API_URL = "https://chat.googleapis.com/"
MAX_SIGNED_URL_TTL = timedelta(days=7)  # a V4 signature cannot live longer


class ConfigError(Exception):
    """Raised with every configuration problem found, so they can be fixed in one pass."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("CloudBox is not configured correctly:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    bucket: str | None = None
    base_url: str = DEFAULT_BASE_URL
    secret_key: str = ""
    database_url: str = ""
    google_application_credentials: str | None = None
    storage_emulator_host: str | None = None

    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_discovery_url: str = DEFAULT_OAUTH_DISCOVERY_URL
    # A CA bundle (PEM) for the OAuth provider's TLS: a TLS-inspecting proxy, or the tests' CA.
    oauth_ca_bundle: str | None = None

    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_file_hosts: tuple[str, ...] = ("files.slack.com",)

    gchat_audience: str | None = None
    gchat_credentials: str | None = None
    gchat_certs_url: str | None = None
    gchat_api_url: str = DEFAULT_GCHAT_API_URL
    gchat_command_id: str = "1"
    # The Chat app's project number: with an endpoint-URL audience, the only project whose
    # add-on service account (service-<number>@gcp-sa-gsuiteaddons...) may call.
    gchat_project_number: str | None = None

    max_upload_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    # Memory one process sets aside for decoding images at once; decodes beyond it wait.
    decode_memory_bytes: int = 512 * 1024 * 1024
    keep_location: bool = False
    quota_images: int | None = None
    audit_retention: timedelta = timedelta(days=365)
    quota_bytes: int | None = None
    # How long a claimed ingest job is held without a renewal (running jobs renew every third
    # of it): after a crash, work the dead process held resumes this long later.
    ingest_lease: timedelta = timedelta(seconds=30)
    share_default_ttl: timedelta = timedelta(hours=24)
    share_max_ttl: timedelta = MAX_SIGNED_URL_TTL
    signed_url_ttl: timedelta = timedelta(minutes=5)
    # "redirect": share links are CLOUDBOX_BASE_URL/s/<token>; "signed_url": post raw V4 URLs
    # (for deployments without a public base URL).
    share_links: str = "redirect"
    embedded_port: int = 0
    # Where rate-limit counters live (a `limits` storage URI such as redis://host:6379);
    # None keeps them in the process, which is right for a single instance.
    rate_limit_storage: str | None = None
    # Reverse proxies in front of CloudBox (Cloud Run, a load balancer): how many X-Forwarded-*
    # hops to trust, so rate limits see the visitor's address rather than the proxy's.
    proxy_hops: int = 0
    # Requests per process that may wait on the network for their body at once (slow uploads);
    # one more is refused with 503, so the other server threads stay free. Keep it below the
    # server's threads per process.
    slow_bodies: int = 8
    # The bearer token a Prometheus scrape of /metrics must send; None: no /metrics at all.
    metrics_token: str | None = None
    log_format: str = "text"  # "json": one JSON object per line, as Cloud Logging reads them
    # PostgreSQL connections one process keeps (and as many again in a burst).
    db_pool_size: int = 10
    google_cloud_project: str | None = None  # names the trace of JSON log lines
    # Who may sign in, link and send images (CLOUDBOX_ALLOWED_*, CLOUDBOX_LINK_MISMATCH).
    access: AccessPolicy = AccessPolicy()

    @property
    def embedded(self) -> bool:
        """True when no bucket is configured: a local GCS stand-in and SQLite are used."""
        return self.bucket is None

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret or self.slack_app_token) and bool(
            self.slack_bot_token or self.slack_client_id
        )

    @property
    def slack_multi_workspace(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def gchat_enabled(self) -> bool:
        return bool(self.gchat_audience)

    @property
    def google_oauth_enabled(self) -> bool:
        return bool(self.oauth_client_id and self.oauth_client_secret)

    @property
    def effective_gchat_certs_url(self) -> str:
        if self.gchat_certs_url:
            return self.gchat_certs_url
        if self.gchat_audience and self.gchat_audience.isdigit():
            return GCHAT_PROJECT_CERTS_URL
        return GOOGLE_OAUTH_CERTS_URL

    def url_for(self, path: str) -> str:
        """An absolute public URL for a path of this service."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        dotenv_path: str | os.PathLike[str] | None = ".env",
        instance_path: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Build settings from `environ` (default: the process) over a `.env` file.

        Raises ConfigError naming every missing or malformed variable.
        """
        values: dict[str, str] = {}
        if dotenv_path and Path(dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return _parse(values, instance_path)


def _parse(env: Mapping[str, str], instance_path: str | os.PathLike[str] | None) -> Settings:
    read = _Reader(env)
    instance = Path(instance_path or read.get("CLOUDBOX_INSTANCE_PATH") or "instance").resolve()
    bucket = read.get("CLOUDBOX_BUCKET")
    settings = Settings(
        instance_path=instance,
        bucket=bucket,
        base_url=read.url("CLOUDBOX_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
        secret_key=_secret_key(read, instance, embedded=bucket is None),
        database_url=read.get("DATABASE_URL") or f"sqlite:///{instance / 'cloudbox.sqlite3'}",
        **_google_cloud(read),
        **_google_sign_in(read),
        **_slack(read),
        **_google_chat(read),
        **_images(read),
        **_sharing(read),
        **_operations(read),
        access=parse_policy(read.get, read.problems),
    )
    if read.problems:
        raise ConfigError(read.problems)
    return settings


class _Reader:
    """Reads typed values from the environment; what is wrong goes to `problems`, by name."""

    def __init__(self, env: Mapping[str, str]):
        self._env = env
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def url(self, name: str, default: str) -> str:
        return self.optional_url(name) or default

    def optional_url(self, name: str) -> str | None:
        value = self.get(name)
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.problems.append(f"{name} must be an http(s) URL, got {value!r}")
        return value

    def positive_int(self, name: str, default: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number <= 0:
            self.problems.append(f"{name} must be a positive whole number, got {raw!r}")
            return default
        return number

    def optional_positive_int(self, name: str) -> int | None:
        return self.positive_int(name, 1) if self.get(name) is not None else None

    def whole_number(self, name: str, default: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit()):
            self.problems.append(f"{name} must be a whole number (0 or more), got {raw!r}")
            return default
        return int(raw)

    def choice(self, name: str, default: str, allowed: tuple[str, str]) -> str:
        value = (self.get(name) or default).lower()
        if value not in allowed:
            self.problems.append(f"{name} must be {allowed[0]!r} or {allowed[1]!r}, got {value!r}")
        return value

    def existing_file(self, name: str) -> str | None:
        path = self.get(name)
        if path and not Path(path).is_file():
            self.problems.append(f"{name} names a file that does not exist: {path}")
        return path

    def together(self, first: str, second: str) -> tuple[str | None, str | None]:
        """Two settings that mean nothing apart (a client id and its secret)."""
        one, other = self.get(first), self.get(second)
        if bool(one) != bool(other):
            self.problems.append(f"{first} and {second} must be set together")
        return one, other


def _secret_key(read: _Reader, instance: Path, *, embedded: bool) -> str:
    secret_key = read.get("SECRET_KEY")
    if secret_key is None:
        if embedded:
            return _embedded_secret_key(instance)
        read.problems.append("SECRET_KEY is required when CLOUDBOX_BUCKET is set")
        return ""
    if len(secret_key) < 16:
        read.problems.append("SECRET_KEY must be at least 16 characters")
    return secret_key


def _google_cloud(read: _Reader) -> dict[str, Any]:
    return {
        "google_application_credentials": read.existing_file("GOOGLE_APPLICATION_CREDENTIALS"),
        "storage_emulator_host": read.optional_url("STORAGE_EMULATOR_HOST"),
    }


def _google_sign_in(read: _Reader) -> dict[str, Any]:
    client_id, client_secret = read.together("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET")
    return {
        "oauth_client_id": client_id,
        "oauth_client_secret": client_secret,
        "oauth_ca_bundle": read.get("OAUTH_CA_BUNDLE"),
        "oauth_discovery_url": read.url("OAUTH_DISCOVERY_URL", DEFAULT_OAUTH_DISCOVERY_URL),
    }


def _slack(read: _Reader) -> dict[str, Any]:
    client_id, client_secret = read.together("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    signing = read.get("SLACK_SIGNING_SECRET")
    bot = read.get("SLACK_BOT_TOKEN")
    app = read.get("SLACK_APP_TOKEN")
    if (bot or client_id) and not (signing or app):
        read.problems.append("SLACK_SIGNING_SECRET is required when a Slack token or client is set")
    if signing and not (bot or client_id):
        read.problems.append("SLACK_SIGNING_SECRET is set but neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID")
    if app and not app.startswith("xapp-"):
        read.problems.append("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
    hosts = read.get("SLACK_FILE_HOSTS") or "files.slack.com"
    return {
        "slack_signing_secret": signing,
        "slack_bot_token": bot,
        "slack_client_id": client_id,
        "slack_client_secret": client_secret,
        "slack_app_token": app,
        "slack_api_url": read.url("SLACK_API_URL", DEFAULT_SLACK_API_URL),
        "slack_file_hosts": tuple(h.strip().lower() for h in hosts.split(",") if h.strip()),
    }


def _google_chat(read: _Reader) -> dict[str, Any]:
    audience = read.get("GCHAT_AUDIENCE")
    if audience and not audience.isdigit():
        read.optional_url("GCHAT_AUDIENCE")
    project = read.get("GCHAT_PROJECT_NUMBER")
    if project and not (project.isascii() and project.isdigit()):
        read.problems.append(f"GCHAT_PROJECT_NUMBER must be the project's number (digits), got {project!r}")
    elif project and audience and audience.isdigit() and project != audience:
        read.problems.append(
            "GCHAT_PROJECT_NUMBER and a project-number GCHAT_AUDIENCE must be the same number"
        )
    return {
        "gchat_audience": audience,
        "gchat_credentials": read.existing_file("GCHAT_CREDENTIALS"),
        "gchat_certs_url": read.optional_url("GCHAT_CERTS_URL"),
        "gchat_api_url": read.url("GCHAT_API_URL", DEFAULT_GCHAT_API_URL),
        "gchat_command_id": read.get("GCHAT_COMMAND_ID") or "1",
        "gchat_project_number": project,
    }


def _images(read: _Reader) -> dict[str, Any]:
    """What an image may be, what a person may keep, and what decoding may cost."""
    return {
        "max_upload_bytes": read.positive_int("CLOUDBOX_MAX_UPLOAD_MB", 50) * 1024 * 1024,
        "max_pixels": read.positive_int("CLOUDBOX_MAX_PIXELS", 100_000_000),
        "decode_memory_bytes": read.positive_int("CLOUDBOX_DECODE_MEMORY_MB", 512) * 1024 * 1024,
        "keep_location": read.choice("CLOUDBOX_KEEP_LOCATION", "no", ("yes", "no")) == "yes",
        "quota_images": read.optional_positive_int("CLOUDBOX_QUOTA_IMAGES"),
        "quota_bytes": (read.optional_positive_int("CLOUDBOX_QUOTA_MB") or 0) * 1024 * 1024 or None,
    }


def _sharing(read: _Reader) -> dict[str, Any]:
    default_ttl = timedelta(hours=read.positive_int("CLOUDBOX_SHARE_DEFAULT_HOURS", 24))
    max_ttl = timedelta(hours=read.positive_int("CLOUDBOX_SHARE_MAX_HOURS", 7 * 24))
    if max_ttl > MAX_SIGNED_URL_TTL:
        read.problems.append("CLOUDBOX_SHARE_MAX_HOURS cannot exceed 168 (7 days, the V4 signature limit)")
        max_ttl = MAX_SIGNED_URL_TTL
    if default_ttl > max_ttl:
        read.problems.append("CLOUDBOX_SHARE_DEFAULT_HOURS cannot exceed CLOUDBOX_SHARE_MAX_HOURS")
    return {
        "share_default_ttl": default_ttl,
        "share_max_ttl": max_ttl,
        "signed_url_ttl": timedelta(seconds=read.positive_int("CLOUDBOX_SIGNED_URL_SECONDS", 300)),
        "share_links": read.choice("CLOUDBOX_SHARE_LINKS", "redirect", ("redirect", "signed_url")),
    }


def _operations(read: _Reader) -> dict[str, Any]:
    """How the process runs: the queue's lease, the audit log, proxies, limits, the embedded store."""
    embedded_port = (
        read.positive_int("CLOUDBOX_EMBEDDED_GCS_PORT", 1) if read.get("CLOUDBOX_EMBEDDED_GCS_PORT") else 0
    )
    return {
        "audit_retention": timedelta(days=read.positive_int("CLOUDBOX_AUDIT_DAYS", 365)),
        "ingest_lease": timedelta(seconds=read.positive_int("CLOUDBOX_INGEST_LEASE_SECONDS", 30)),
        "embedded_port": embedded_port,
        "rate_limit_storage": read.get("CLOUDBOX_RATE_LIMIT_STORAGE"),
        "proxy_hops": read.whole_number("CLOUDBOX_PROXY_HOPS", 0),
        "slow_bodies": read.positive_int("CLOUDBOX_SLOW_BODIES", 8),
        "db_pool_size": read.positive_int("CLOUDBOX_DB_POOL_SIZE", 10),
        "metrics_token": _metrics_token(read),
        "log_format": read.choice("CLOUDBOX_LOG_FORMAT", "text", ("text", "json")),
        "google_cloud_project": read.get("GOOGLE_CLOUD_PROJECT"),
    }


def _metrics_token(read: _Reader) -> str | None:
    token = read.get("CLOUDBOX_METRICS_TOKEN")
    if token is not None and len(token) < 16:
        read.problems.append("CLOUDBOX_METRICS_TOKEN must be at least 16 characters")
    return token


def _embedded_secret_key(instance: Path) -> str:
    """A per-installation key kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    # Every worker of a fresh start must end up with the same key: the first one written wins.
    return write_once(path, secrets.token_urlsafe(48)).strip()
