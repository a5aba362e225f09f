"""The README's Google Chat set-up names exactly what the code reads, and its example works."""

from __future__ import annotations

import re
from pathlib import Path

from storage.settings import GCHAT_PROJECT_CERTS_URL, GOOGLE_OAUTH_CERTS_URL, Settings

ROOT = Path(__file__).resolve().parents[2]


def gchat_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- section: gchat -->")
    end = text.index("<!-- section:", start + 1)
    return text[start:end]


def test_the_section_names_every_gchat_setting_the_code_reads() -> None:
    read = set(re.findall(r"\"(GCHAT_[A-Z_]+)\"", (ROOT / "storage" / "settings.py").read_text()))
    assert read >= {
        "GCHAT_AUDIENCE",
        "GCHAT_CREDENTIALS",
        "GCHAT_COMMAND_ID",
        "GCHAT_CERTS_URL",
        "GCHAT_API_URL",
    }
    section = gchat_section()
    assert {name for name in read if name not in section} == set()
    named = set(re.findall(r"GCHAT_[A-Z_]+", section))
    assert named <= read, f"README names settings the code does not read: {named - read}"
    assert "/gchat/events" in section


def test_the_example_configuration_is_accepted(tmp_path: Path) -> None:
    key = tmp_path / "chat-key.json"
    key.write_text("{}")
    env = {"GCHAT_AUDIENCE": "123456789012", "GCHAT_COMMAND_ID": "1", "GCHAT_CREDENTIALS": str(key)}
    settings = Settings.from_env(env, dotenv_path=None, instance_path=tmp_path)
    assert settings.gchat_enabled
    assert settings.gchat_command_id == "1"
    assert settings.effective_gchat_certs_url == GCHAT_PROJECT_CERTS_URL

    url = {"GCHAT_AUDIENCE": "https://cloudbox.example.com/gchat/events"}
    by_url = Settings.from_env(url, dotenv_path=None, instance_path=tmp_path)
    assert by_url.effective_gchat_certs_url == GOOGLE_OAUTH_CERTS_URL
