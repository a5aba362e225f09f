"""What a starting process says it runs: storage, catalog, front ends, URL, in a few lines."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from storage.settings import Settings


def summary(settings: Settings, *, socket_mode: bool) -> list[str]:
    """Lines for the start-up log; no secrets (a database URL is shown without its user)."""
    return [
        f"CloudBox: links and sign-in point at {settings.base_url}",
        f"  storage: {_storage(settings)}",
        f"  catalog: {_catalog(settings.database_url)}",
        f"  front ends: {', '.join(_front_ends(settings, socket_mode=socket_mode))}",
    ]


def _storage(settings: Settings) -> str:
    if settings.embedded:
        return f"embedded local store in {settings.instance_path / 'gcs'} (for trying CloudBox out)"
    return f"Google Cloud Storage bucket {settings.bucket}"


def _catalog(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database or ':memory:'}"
    where = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}/{url.database or ''}"
    return f"{url.get_backend_name()} {where}"


def _front_ends(settings: Settings, *, socket_mode: bool) -> list[str]:
    ends = ["web gallery and linking"]
    if settings.slack_enabled and settings.slack_signing_secret:
        ends.append("Slack over HTTP (/slack/events)")
    if socket_mode:
        ends.append("Slack over Socket Mode")
    if settings.gchat_enabled:
        ends.append("Google Chat (/gchat/events)")
    return ends
