"""fake-gcs-server driven by the tests, and a checker for V4 signed URLs.

The emulator does not validate signatures, so tests rebuild the V4 canonical request and
verify the RSA-SHA256 signature with the signer's public key.
"""

from __future__ import annotations

import binascii
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def verify_v4_signed_url(
    url: str, public_key: rsa.RSAPublicKey, *, now: datetime | None = None
) -> dict[str, str]:
    """Raise AssertionError unless `url` is a valid, unexpired V4 signature; return its query."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    signature = binascii.unhexlify(query.pop("X-Goog-Signature"))
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    signed_headers = query["X-Goog-SignedHeaders"]
    assert signed_headers == "host", signed_headers
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", signed_headers, "UNSIGNED-PAYLOAD"]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    public_key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    signed_at = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = signed_at + timedelta(seconds=int(query["X-Goog-Expires"]))
    assert (now or datetime.now(UTC)) < expires, "signed URL has expired"
    return query
