"""/metrics (Prometheus), /readyz's backlog and JSON logs: what an operator can watch, and
that none of it names a person or leaks a token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ingest.worker import IngestWorker
from storage.model import Owner
from storage.services import Services
from storage.settings import Settings
from tests.slack.helpers import SlackSender, dm_file_event
from tests.standins import images
from tests.standins.slack_api import FakeSlack, Team
from web_oauth import create_app
from web_oauth.log_format import TRACE_FIELD, CloudLoggingFormatter

TOKEN = "metrics-token-" + "x" * 16


@pytest.fixture
def settings(make_settings: Callable[..., Settings], slack_env: dict[str, str]) -> Settings:
    return make_settings(**slack_env, CLOUDBOX_METRICS_TOKEN=TOKEN)


def scrape(client: Any) -> dict[str, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def test_metrics_need_the_configured_bearer_token(client: Any) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_without_a_token_there_is_no_metrics_endpoint(make_settings: Callable[..., Settings]) -> None:
    services = Services.build(make_settings())
    try:
        client = create_app(services=services, test_config={"TESTING": True}).test_client()
        assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404
    finally:
        services.close()


def test_backlog_acks_and_jobs_are_counted_and_name_nobody(
    client: Any,
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link("U1")
    before = scrape(client)
    fake = slack_api.add_file(slack_team, "holiday-ada.png", images.png(31))
    assert slack.event(dm_file_event(slack_api, [slack_api.file_object(fake)])).status == 200

    waiting = scrape(client)
    assert waiting["cloudbox_ingest_jobs{status=queued}"] == 1
    assert waiting["cloudbox_ingest_oldest_job_seconds{}"] >= 0
    acked = "cloudbox_chat_events_acked_total{platform=slack}"
    assert waiting[acked] == before.get(acked, 0) + 1
    ready = client.get("/readyz").json
    assert ready["backlog"]["queued"] == 1

    ingest.drain()
    image = services.library.list(owner).images[0]
    share = services.shares.share(owner, image.id)
    assert client.get(share.url.removeprefix(services.settings.base_url)).status_code == 303

    after = scrape(client)
    assert after["cloudbox_ingest_jobs{status=queued}"] == 0
    saved = "cloudbox_ingest_job_seconds_count{outcome=saved,platform=slack}"
    assert after[saved] == before.get(saved, 0) + 1
    viewed = "cloudbox_share_views_total{result=counted}"
    assert after[viewed] == before.get(viewed, 0) + 1
    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    token = share.url.rsplit("/", 1)[1]
    for personal in (owner.email, "holiday-ada", "U1", slack_team.team_id, image.id, token):
        assert personal not in body


def test_json_log_lines_carry_severity_and_trace_and_no_secrets(app: Any) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CloudLoggingFormatter("cloudbox-prod"))
    logger = logging.getLogger("cloudbox.test.json")
    logger.addHandler(handler)
    try:
        with app.test_request_context(
            headers={"X-Cloud-Trace-Context": "0af7651916cd43dd8448eb211c80319c/1;o=1"}
        ):
            logger.warning(
                "ada@example.com opened /s/%s with xoxb-123-456-abc and Bearer eyJabc.def",
                "Zq3kP0_secret-share-token",
            )
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["severity"] == "WARNING" and line["logger"] == "cloudbox.test.json"
    assert line[TRACE_FIELD] == "projects/cloudbox-prod/traces/0af7651916cd43dd8448eb211c80319c"
    for secret in ("ada@example.com", "Zq3kP0_secret-share-token", "xoxb-123", "eyJabc"):
        assert secret not in line["message"]
    assert line["message"].startswith("[email] opened /s/[redacted]")


def test_the_json_setting_puts_every_root_handler_on_json(make_settings: Callable[..., Settings]) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    formatters = {h: h.formatter for h in root.handlers}  # pytest's own handlers get theirs back
    services = Services.build(make_settings(CLOUDBOX_LOG_FORMAT="json"))
    try:
        create_app(services=services, test_config={"TESTING": True})
        assert isinstance(handler.formatter, CloudLoggingFormatter)
    finally:
        for each, formatter in formatters.items():
            each.setFormatter(formatter)
        root.removeHandler(handler)
        services.close()
