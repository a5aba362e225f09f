"""Settings: one object from the environment and .env, every problem reported together by name."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from storage import db
from storage.settings import ConfigError, Settings


def load(tmp_path: Path, env: dict[str, str], **kw: object) -> Settings:
    kw.setdefault("dotenv_path", None)
    return Settings.from_env(env, instance_path=tmp_path / "instance", **kw)  # type: ignore[arg-type]


def problems_of(tmp_path: Path, env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, env)
    return caught.value.problems


def mentions(problems: list[str], name: str) -> bool:
    return any(name in p for p in problems)


def test_every_problem_is_reported_together_by_name(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "CLOUDBOX_BUCKET": "photos",
            "CLOUDBOX_BASE_URL": "not a url",
            "OAUTH_CLIENT_ID": "only-the-id",
            "CLOUDBOX_MAX_UPLOAD_MB": "lots",
            "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json"),
            "SLACK_APP_TOKEN": "xoxb-wrong-kind",
        },
    )
    for name in (
        "SECRET_KEY",
        "CLOUDBOX_BASE_URL",
        "OAUTH_CLIENT_SECRET",
        "CLOUDBOX_MAX_UPLOAD_MB",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "SLACK_APP_TOKEN",
    ):
        assert mentions(problems, name), (name, problems)
    assert len(problems) == 6, problems


def test_config_error_message_lists_each_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, {"CLOUDBOX_BUCKET": "photos", "CLOUDBOX_MAX_PIXELS": "-3"})
    text = str(caught.value)
    assert "SECRET_KEY" in text and "CLOUDBOX_MAX_PIXELS" in text


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "CLOUDBOX_BUCKET=from-dotenv\nSECRET_KEY=dotenv-secret-key-0123456789\n"
        "CLOUDBOX_BASE_URL=https://dotenv.example\n"
    )
    settings = load(tmp_path, {"CLOUDBOX_BASE_URL": "https://env.example/"}, dotenv_path=dotenv)
    assert settings.bucket == "from-dotenv"
    assert settings.secret_key == "dotenv-secret-key-0123456789"
    assert settings.base_url == "https://env.example"


def test_missing_dotenv_file_is_not_an_error(tmp_path: Path) -> None:
    settings = load(tmp_path, {}, dotenv_path=tmp_path / "nope.env")
    assert settings.embedded


def test_embedded_default_makes_and_keeps_a_private_secret_key(tmp_path: Path) -> None:
    first = load(tmp_path, {})
    assert first.embedded and first.bucket is None
    assert len(first.secret_key) >= 32
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load(tmp_path, {}).secret_key == first.secret_key  # survives a restart
    assert first.database_url == f"sqlite:///{tmp_path / 'instance' / 'cloudbox.sqlite3'}"


def test_secret_key_is_required_with_a_bucket(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"CLOUDBOX_BUCKET": "photos"})
    assert problems == ["SECRET_KEY is required when CLOUDBOX_BUCKET is set"]
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    assert mentions(problems_of(tmp_path, {"SECRET_KEY": "short"}), "SECRET_KEY")


def test_share_hours_are_capped_at_seven_days(tmp_path: Path) -> None:
    assert mentions(problems_of(tmp_path, {"CLOUDBOX_SHARE_MAX_HOURS": "169"}), "CLOUDBOX_SHARE_MAX_HOURS")
    problems = problems_of(tmp_path, {"CLOUDBOX_SHARE_MAX_HOURS": "10", "CLOUDBOX_SHARE_DEFAULT_HOURS": "11"})
    assert mentions(problems, "CLOUDBOX_SHARE_DEFAULT_HOURS")
    settings = load(tmp_path, {"CLOUDBOX_SHARE_MAX_HOURS": "168", "CLOUDBOX_SHARE_DEFAULT_HOURS": "2"})
    assert settings.share_max_ttl == timedelta(days=7)
    assert settings.share_default_ttl == timedelta(hours=2)


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "ten"])
def test_share_hours_must_be_positive_whole_numbers(tmp_path: Path, value: str) -> None:
    assert mentions(
        problems_of(tmp_path, {"CLOUDBOX_SHARE_DEFAULT_HOURS": value}), "CLOUDBOX_SHARE_DEFAULT_HOURS"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_CLIENT_SECRET": "s"}, "SLACK_CLIENT_ID"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-1", "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ({"OAUTH_CLIENT_SECRET": "s"}, "OAUTH_CLIENT_ID"),
    ],
)
def test_settings_that_come_in_pairs_are_refused_alone(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    assert mentions(problems_of(tmp_path, env), named)


def test_complete_slack_pairs_are_accepted(tmp_path: Path) -> None:
    single = load(tmp_path, {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert single.slack_enabled and not single.slack_multi_workspace
    multi = load(
        tmp_path, {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "x"}
    )
    assert multi.slack_enabled and multi.slack_multi_workspace
    socket = load(tmp_path, {"SLACK_APP_TOKEN": "xapp-1", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert socket.slack_enabled


@pytest.mark.parametrize(
    "name",
    ["CLOUDBOX_BASE_URL", "SLACK_API_URL", "OAUTH_DISCOVERY_URL", "GCHAT_API_URL", "STORAGE_EMULATOR_HOST"],
)
@pytest.mark.parametrize("value", ["ftp://example.com", "127.0.0.1:5000", "javascript:alert(1)", "https://"])
def test_urls_must_be_http_with_a_host(tmp_path: Path, name: str, value: str) -> None:
    problems = problems_of(tmp_path, {name: value})
    assert mentions(problems, name), problems


def test_gchat_audience_is_a_project_number_or_a_url(tmp_path: Path) -> None:
    assert load(tmp_path, {"GCHAT_AUDIENCE": "123456789"}).gchat_enabled
    assert load(tmp_path, {"GCHAT_AUDIENCE": "https://chat.example/gchat/events"}).gchat_enabled
    assert mentions(problems_of(tmp_path, {"GCHAT_AUDIENCE": "my-project"}), "GCHAT_AUDIENCE")


def test_base_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    settings = load(tmp_path, {"CLOUDBOX_BASE_URL": "https://box.example/"})
    assert settings.url_for("/s/abc") == "https://box.example/s/abc"


def test_storage_package_reads_the_environment_only_in_settings() -> None:
    package = Path(__file__).resolve().parents[2] / "storage"
    readers = [
        p.name
        for p in package.rglob("*.py")
        if p.name != "settings.py" and ("os.environ" in p.read_text() or "getenv" in p.read_text())
    ]
    assert readers == []


def test_image_engine_and_recovery_settings(tmp_path: Path) -> None:
    defaults = load(tmp_path, {})
    assert defaults.decode_memory_bytes == 512 * 1024 * 1024
    assert defaults.keep_location is False
    assert defaults.ingest_lease == timedelta(seconds=30)  # a dead process's work resumes in ~30 s
    chosen = load(
        tmp_path,
        {
            "CLOUDBOX_DECODE_MEMORY_MB": "900",
            "CLOUDBOX_KEEP_LOCATION": "yes",
            "CLOUDBOX_INGEST_LEASE_SECONDS": "12",
        },
    )
    assert chosen.decode_memory_bytes == 900 * 1024 * 1024
    assert chosen.keep_location is True
    assert chosen.ingest_lease == timedelta(seconds=12)
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, {"CLOUDBOX_KEEP_LOCATION": "maybe", "CLOUDBOX_INGEST_LEASE_SECONDS": "0"})
    assert "CLOUDBOX_KEEP_LOCATION" in str(refused.value) and "CLOUDBOX_INGEST_LEASE_SECONDS" in str(
        refused.value
    )


def test_the_database_pool_is_sized_by_setting_and_bad_sizes_are_named(tmp_path: Path) -> None:
    base = {"CLOUDBOX_BUCKET": "b", "SECRET_KEY": "s" * 20}
    sized = Settings.from_env(
        {**base, "CLOUDBOX_DB_POOL_SIZE": "3"}, dotenv_path=None, instance_path=tmp_path
    )
    assert sized.db_pool_size == 3
    assert mentions(problems_of(tmp_path, {**base, "CLOUDBOX_DB_POOL_SIZE": "0"}), "CLOUDBOX_DB_POOL_SIZE")
    engine = db.make_engine("postgresql://postgres@127.0.0.1:5432/test", pool_size=sized.db_pool_size)
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 3)  # type: ignore[attr-defined]
    engine.dispose()
