"""The Chat API client against the local stand-in: service-account token, media, messages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account

from bot.gchat.media import CHAT_BOT_SCOPE, ChatApi, ChatMediaFetcher
from storage.accounts import Identity
from storage.errors import Rejected
from storage.ingest_queue import Job, JobStatus
from tests.standins import images
from tests.standins.gchat import GchatStandin


@pytest.fixture
def api(google: GchatStandin, app_key: rsa.RSAPrivateKey, tmp_path: Path) -> ChatApi:
    key_file = google.write_key_file(tmp_path, app_key)
    return ChatApi(
        google.url,
        lambda: service_account.Credentials.from_service_account_file(str(key_file), scopes=[CHAT_BOT_SCOPE]),
        max_bytes=1024 * 1024,
    )


def job(**payload: object) -> Job:
    return Job(
        id=1,
        identity=Identity("gchat", "gchat", "users/1"),
        file_id="resource/1",
        file_name="cat.png",
        batch="b",
        ref={
            "resource_name": "resource/1",
            "source": "UPLOADED_CONTENT",
            "content_type": "image/png",
            **payload,
        },
        status=JobStatus.RUNNING,
        attempts=1,
        result=None,
        image_id=None,
        waited_for_link=False,
        created_at=datetime.now(UTC),
    )


def test_media_is_streamed_with_the_apps_access_token(google: GchatStandin, api: ChatApi) -> None:
    data = images.png(11)
    google.add_media("resource/1", data)
    with ChatMediaFetcher(api)(job()) as stream:
        assert stream.read() == data
    [request] = google.media_requests()
    assert request.authorized and request.path == "/v1/media/resource/1"
    assert google.state.tokens_issued == 1


def test_a_wrong_token_is_refused_by_the_media_endpoint(google: GchatStandin, api: ChatApi) -> None:
    google.add_media("resource/1", images.png(12))
    google.trust_service_account(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    with pytest.raises(Exception):  # noqa: B017 - the token endpoint refuses the assertion
        with ChatMediaFetcher(api)(job()):
            pass
    assert google.media_requests() == []


def test_missing_media_drive_files_and_non_images_are_refused(google: GchatStandin, api: ChatApi) -> None:
    fetch = ChatMediaFetcher(api)
    with pytest.raises(Rejected, match="no longer available"):
        with fetch(job()):
            pass
    with pytest.raises(Rejected, match="Google Drive"):
        fetch(job(source="DRIVE_FILE", resource_name=""))
    with pytest.raises(Rejected, match="not an image"):
        fetch(job(content_type="application/pdf"))
    with pytest.raises(Rejected, match="reference"):
        with fetch(job(resource_name="../spaces/x/messages")):
            pass


def test_messages_are_posted_in_the_thread(google: GchatStandin, api: ChatApi) -> None:
    api.create_message("spaces/AAA", {"text": "hi"}, thread_name="spaces/AAA/threads/t")
    [posted] = google.wait_for_posts(1)
    assert posted["path"] == "/v1/spaces/AAA/messages"
    assert posted["message"] == {"text": "hi", "thread": {"name": "spaces/AAA/threads/t"}}
