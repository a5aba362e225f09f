"""Signing without a key file (Cloud Run, GCE): metadata-server token, then IAM signBlob."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.gce import IamCredentials, MetadataServer
from tests.standins.gcs import verify_v4_signed_url
from tests.standins.keys import ServiceAccountKey, make_service_account_key

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def google_cloud(tmp_path: Path) -> Iterator[tuple[ServiceAccountKey, MetadataServer, IamCredentials]]:
    key = make_service_account_key(tmp_path, "cloudbox-run")
    metadata = MetadataServer(key.email).start()
    iam = IamCredentials(key, metadata, tmp_path).start()
    try:
        yield key, metadata, iam
    finally:
        iam.stop()
        metadata.stop()


def sign_in_a_fresh_process(
    metadata: MetadataServer, iam: IamCredentials, tmp_path: Path, count: int
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOOGLE_", "GCE_", "CLOUDSDK_")) and k.lower() not in ("https_proxy", "no_proxy")
    }
    env.update(
        GCE_METADATA_HOST=metadata.address,
        GCE_METADATA_IP=metadata.address,
        CLOUDSDK_CONFIG=str(tmp_path / "no-gcloud"),  # no gcloud user credentials to find first
        HTTPS_PROXY=iam.proxy_url,
        REQUESTS_CA_BUNDLE=str(iam.ca_bundle),
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.storage.sign_with_default_credentials",
            "photos",
            "o/a b.png",
            str(count),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_urls_are_signed_through_iam_with_the_metadata_servers_token(
    google_cloud: tuple[ServiceAccountKey, MetadataServer, IamCredentials], tmp_path: Path
) -> None:
    key, metadata, iam = google_cloud
    done = sign_in_a_fresh_process(metadata, iam, tmp_path, count=8)
    assert done.returncode == 0, done.stderr[-2000:]
    urls = json.loads(done.stdout)

    assert len(urls) == 8 and iam.refused == []
    for url in urls:
        assert url.startswith("https://storage.googleapis.com/photos/o/a%20b.png?")
        query = verify_v4_signed_url(url, key.public_key)  # signed by the service account's key
        assert query["X-Goog-Credential"].startswith(key.email + "/")
    assert len(iam.calls) == 8 and {c.email for c in iam.calls} == {key.email}
    # Eight threads signing at once refreshed the credentials once, and used that token.
    assert len(metadata.tokens) == 1 and {c.token for c in iam.calls} == set(metadata.tokens)


def test_a_token_iam_does_not_accept_fails_loudly(
    google_cloud: tuple[ServiceAccountKey, MetadataServer, IamCredentials], tmp_path: Path
) -> None:
    key, metadata, iam = google_cloud
    metadata.email = "someone-else@cloudbox-test.iam.gserviceaccount.com"  # not the key IAM holds
    done = sign_in_a_fresh_process(metadata, iam, tmp_path, count=1)
    assert done.returncode != 0
    assert iam.calls == [] and iam.refused
    assert "StorageError: Links cannot be made right now" in done.stderr
    assert "roles/iam.serviceAccountTokenCreator" in done.stderr  # the log says what to fix
    assert "ya29." not in done.stderr  # the access token is not in the error
