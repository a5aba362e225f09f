"""The start-up log says what runs, in a few lines, and nothing secret."""

from __future__ import annotations

from collections.abc import Callable

from storage.settings import Settings
from web_oauth import startup


def test_the_summary_names_storage_catalog_front_ends_and_url(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        DATABASE_URL="postgresql://cloudbox:hunter2@db.internal:5433/catalog",
        GCHAT_AUDIENCE="123456789012",
    )
    text = "\n".join(startup.summary(settings, socket_mode=True))
    assert f"bucket {settings.bucket}" in text
    assert "postgresql db.internal:5433/catalog" in text
    assert "Slack over Socket Mode" in text and "Google Chat" in text
    assert settings.base_url in text
    assert "hunter2" not in text and "cloudbox:" not in text
