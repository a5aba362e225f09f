"""RSA keys made by the tests: a service-account key file for signing URLs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class ServiceAccountKey:
    path: Path
    info: dict[str, str]
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def email(self) -> str:
        return self.info["client_email"]


def make_service_account_key(
    directory: Path,
    name: str = "test-signer",
    *,
    private_key: rsa.RSAPrivateKey | None = None,
    token_uri: str = "http://127.0.0.1:9/token",
) -> ServiceAccountKey:
    """A key file `directory/<name>.json` for `name@cloudbox-test.iam.gserviceaccount.com`."""
    key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "cloudbox-test",
        "private_key_id": name,
        "private_key": pem,
        "client_email": f"{name}@cloudbox-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(info))
    return ServiceAccountKey(path, info, key)
