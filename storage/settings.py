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
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    def url(name: str, default: str | None = None) -> str | None:
        value = get(name) or default
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"{name} must be an http(s) URL, got {value!r}")
        return value

    def positive_int(name: str, default: int) -> int:
        raw = get(name)
        if raw is None:
            return default
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number <= 0:
            problems.append(f"{name} must be a positive whole number, got {raw!r}")
            return default
        return number

    def optional_positive_int(name: str) -> int | None:
        return positive_int(name, 1) if get(name) is not None else None

    def whole_number(name: str, default: int) -> int:
        raw = get(name)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit()):
            problems.append(f"{name} must be a whole number (0 or more), got {raw!r}")
            return default
        return int(raw)

    instance = Path(instance_path or get("CLOUDBOX_INSTANCE_PATH") or "instance").resolve()
    bucket = get("CLOUDBOX_BUCKET")
    embedded = bucket is None

    secret_key = get("SECRET_KEY")
    if secret_key is None:
        if embedded:
            secret_key = _embedded_secret_key(instance)
        else:
            problems.append("SECRET_KEY is required when CLOUDBOX_BUCKET is set")
            secret_key = ""
    elif len(secret_key) < 16:
        problems.append("SECRET_KEY must be at least 16 characters")

    creds = get("GOOGLE_APPLICATION_CREDENTIALS")
    if creds and not Path(creds).is_file():
        problems.append(f"GOOGLE_APPLICATION_CREDENTIALS names a file that does not exist: {creds}")
    gchat_creds = get("GCHAT_CREDENTIALS")
    if gchat_creds and not Path(gchat_creds).is_file():
        problems.append(f"GCHAT_CREDENTIALS names a file that does not exist: {gchat_creds}")

    oauth_id, oauth_secret = get("OAUTH_CLIENT_ID"), get("OAUTH_CLIENT_SECRET")
    if bool(oauth_id) != bool(oauth_secret):
        problems.append("OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET must be set together")

    slack_id, slack_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
    if bool(slack_id) != bool(slack_secret):
        problems.append("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together")
    slack_signing, slack_bot, slack_app = (
        get("SLACK_SIGNING_SECRET"),
        get("SLACK_BOT_TOKEN"),
        get("SLACK_APP_TOKEN"),
    )
    if (slack_bot or slack_id) and not (slack_signing or slack_app):
        problems.append("SLACK_SIGNING_SECRET is required when a Slack token or client is set")
    if slack_signing and not (slack_bot or slack_id):
        problems.append("SLACK_SIGNING_SECRET is set but neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID")
    if slack_app and not slack_app.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token (xapp-...)")

    gchat_audience = get("GCHAT_AUDIENCE")
    if gchat_audience and not gchat_audience.isdigit():
        url("GCHAT_AUDIENCE")
    gchat_project = get("GCHAT_PROJECT_NUMBER")
    if gchat_project and not (gchat_project.isascii() and gchat_project.isdigit()):
        problems.append(f"GCHAT_PROJECT_NUMBER must be the project's number (digits), got {gchat_project!r}")
    elif gchat_project and gchat_audience and gchat_audience.isdigit() and gchat_project != gchat_audience:
        problems.append("GCHAT_PROJECT_NUMBER and a project-number GCHAT_AUDIENCE must be the same number")

    share_links = (get("CLOUDBOX_SHARE_LINKS") or "redirect").lower()
    if share_links not in ("redirect", "signed_url"):
        problems.append(f"CLOUDBOX_SHARE_LINKS must be 'redirect' or 'signed_url', got {share_links!r}")

    keep_location = (get("CLOUDBOX_KEEP_LOCATION") or "no").lower()
    if keep_location not in ("yes", "no"):
        problems.append(f"CLOUDBOX_KEEP_LOCATION must be 'yes' or 'no', got {keep_location!r}")

    default_ttl = timedelta(hours=positive_int("CLOUDBOX_SHARE_DEFAULT_HOURS", 24))
    max_ttl = timedelta(hours=positive_int("CLOUDBOX_SHARE_MAX_HOURS", 7 * 24))
    if max_ttl > MAX_SIGNED_URL_TTL:
        problems.append("CLOUDBOX_SHARE_MAX_HOURS cannot exceed 168 (7 days, the V4 signature limit)")
        max_ttl = MAX_SIGNED_URL_TTL
    if default_ttl > max_ttl:
        problems.append("CLOUDBOX_SHARE_DEFAULT_HOURS cannot exceed CLOUDBOX_SHARE_MAX_HOURS")

    hosts = tuple(
        h.strip().lower() for h in (get("SLACK_FILE_HOSTS") or "files.slack.com").split(",") if h.strip()
    )

    settings = Settings(
        instance_path=instance,
        bucket=bucket,
        base_url=(url("CLOUDBOX_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/"),
        secret_key=secret_key,
        database_url=get("DATABASE_URL") or f"sqlite:///{instance / 'cloudbox.sqlite3'}",
        google_application_credentials=creds,
        storage_emulator_host=url("STORAGE_EMULATOR_HOST"),
        oauth_client_id=oauth_id,
        oauth_client_secret=oauth_secret,
        oauth_ca_bundle=get("OAUTH_CA_BUNDLE"),
        oauth_discovery_url=url("OAUTH_DISCOVERY_URL", DEFAULT_OAUTH_DISCOVERY_URL)
        or DEFAULT_OAUTH_DISCOVERY_URL,
        slack_signing_secret=slack_signing,
        slack_bot_token=slack_bot,
        slack_client_id=slack_id,
        slack_client_secret=slack_secret,
        slack_app_token=slack_app,
        slack_api_url=url("SLACK_API_URL", DEFAULT_SLACK_API_URL) or DEFAULT_SLACK_API_URL,
        slack_file_hosts=hosts,
        gchat_audience=gchat_audience,
        gchat_credentials=gchat_creds,
        gchat_certs_url=url("GCHAT_CERTS_URL"),
        gchat_api_url=url("GCHAT_API_URL", DEFAULT_GCHAT_API_URL) or DEFAULT_GCHAT_API_URL,
        gchat_command_id=get("GCHAT_COMMAND_ID") or "1",
        gchat_project_number=gchat_project,
        max_upload_bytes=positive_int("CLOUDBOX_MAX_UPLOAD_MB", 50) * 1024 * 1024,
        max_pixels=positive_int("CLOUDBOX_MAX_PIXELS", 100_000_000),
        decode_memory_bytes=positive_int("CLOUDBOX_DECODE_MEMORY_MB", 512) * 1024 * 1024,
        keep_location=keep_location == "yes",
        quota_images=optional_positive_int("CLOUDBOX_QUOTA_IMAGES"),
        audit_retention=timedelta(days=positive_int("CLOUDBOX_AUDIT_DAYS", 365)),
        quota_bytes=(optional_positive_int("CLOUDBOX_QUOTA_MB") or 0) * 1024 * 1024 or None,
        ingest_lease=timedelta(seconds=positive_int("CLOUDBOX_INGEST_LEASE_SECONDS", 30)),
        share_default_ttl=default_ttl,
        share_max_ttl=max_ttl,
        signed_url_ttl=timedelta(seconds=positive_int("CLOUDBOX_SIGNED_URL_SECONDS", 300)),
        share_links=share_links,
        embedded_port=positive_int("CLOUDBOX_EMBEDDED_GCS_PORT", 1)
        if get("CLOUDBOX_EMBEDDED_GCS_PORT")
        else 0,
        rate_limit_storage=get("CLOUDBOX_RATE_LIMIT_STORAGE"),
        proxy_hops=whole_number("CLOUDBOX_PROXY_HOPS", 0),
        slow_bodies=positive_int("CLOUDBOX_SLOW_BODIES", 8),
        access=parse_policy(get, problems),
    )
    if problems:
        raise ConfigError(problems)
    return settings


def _embedded_secret_key(instance: Path) -> str:
    """A per-installation key kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    # Every worker of a fresh start must end up with the same key: the first one written wins.
    return write_once(path, secrets.token_urlsafe(48)).strip()
