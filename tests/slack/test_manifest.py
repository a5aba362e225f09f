"""manifest.yaml creates the app CloudBox's code expects: same command, shortcut, scopes, URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.slack.commands import COMMAND
from bot.slack.ingestion import SHORTCUT_ID
from bot.slack.install import BOT_SCOPES, REDIRECT_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yaml"


def load() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_matches_the_code() -> None:
    manifest = load()
    features, settings = manifest["features"], manifest["settings"]
    (command,) = features["slash_commands"]
    assert command["command"] == COMMAND and len(command["command"]) <= 32
    assert command["url"].endswith("/slack/events")
    (shortcut,) = features["shortcuts"]
    assert shortcut["callback_id"] == SHORTCUT_ID and shortcut["type"] == "message"
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert manifest["oauth_config"]["redirect_urls"][0].endswith(REDIRECT_PATH)
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "app_mention",
        "app_uninstalled",
        "message.im",
        "tokens_revoked",
    }
    assert features["app_home"]["home_tab_enabled"] is True


def test_manifest_urls_all_use_one_placeholder_host() -> None:
    text = MANIFEST.read_text()
    lines = [line.split(" #")[0] for line in text.splitlines() if not line.lstrip().startswith("#")]
    urls = [w for line in lines for w in line.split() if w.startswith("https://")]
    assert urls and all(u.startswith("https://cloudbox.example.com/slack/") for u in urls)
