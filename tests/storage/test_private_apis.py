"""The private APIs storage/ relies on still exist and mean what they did (see storage/private_apis.py)."""

from __future__ import annotations

import os

from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage

from storage import private_apis
from storage.embedded import FakeGcsProcess


def test_the_gcs_client_still_has_an_authorised_session_and_its_endpoint(fake_gcs: FakeGcsProcess) -> None:
    client = storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": fake_gcs.url}
    )
    assert private_apis.gcs_api_base_url(client) == fake_gcs.url
    session = private_apis.gcs_authorized_session(client)
    assert isinstance(session, AuthorizedSession)
    assert session.get(f"{fake_gcs.url}/storage/v1/b", params={"project": "test"}).status_code == 200


def test_the_fake_gcs_wheel_still_carries_its_binary_where_we_look() -> None:
    binary = private_apis.fake_gcs_binary()
    assert binary.is_file() and os.access(binary, os.X_OK)
