"""Run as a process of its own: sign one URL the way CloudBox does on Cloud Run.

`python -m tests.storage.sign_with_default_credentials BUCKET OBJECT [COUNT]` builds the
signer from the application default credentials (no key file), signs COUNT URLs for OBJECT
from as many threads at once, and prints them as JSON. google-auth reads the metadata server's
address when it is first imported, so this must be a fresh interpreter with the environment set.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from storage.blobstore import GcsBlobStore, UrlSigner


def main() -> None:
    bucket, name = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    signer = UrlSigner.from_default_credentials()
    assert not signer.can_sign_locally, "these credentials should sign through IAM"
    # Signing needs no call to the bucket: an anonymous client is enough to build the URL.
    client = storage.Client(project="cloudbox-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    store = GcsBlobStore(client, bucket, signer)
    with ThreadPoolExecutor(count) as pool:
        urls = list(pool.map(lambda _: store.signed_url(name, timedelta(minutes=5)), range(count)))
    print(json.dumps(urls))


if __name__ == "__main__":
    main()
