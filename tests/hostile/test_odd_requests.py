"""Odd bytes where a well-behaved client never puts them: headers, cookies, paths, bodies.

Every route must answer them with a 4xx (or its usual answer), never a 500 and a traceback.
"""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from storage.accounts import Identity
from tests.standins import images
from tests.web.conftest import sign_in_as

ODD_HEADERS: dict[str, dict[str, str]] = {
    "latin-1 bytes in the user agent": {"User-Agent": "\u00ff\u00fe bot"},
    "latin-1 bytes in a forwarded address": {"X-Forwarded-For": "\u00ff, 10.0.0.1"},
    "a forwarded address that is not one": {"X-Forwarded-For": "not-an-ip, ::zz"},
    "a forwarded scheme that is not one": {"X-Forwarded-Proto": "gopher\u00e9"},
    "a cookie of latin-1 bytes": {"Cookie": "session=\u00ff\u00fe; cloudbox=\u00e9"},
    "a session cookie that is not ours": {"Cookie": "session=eyJhY2NvdW50Ijp7fX0.AAAA.BBBB"},
    "a huge cookie": {"Cookie": "session=" + "a" * 8000},
    "an accept-language of garbage": {"Accept-Language": "\u00ff;q=abc,,,"},
    "a content type of garbage": {"Content-Type": "multipart/form-data; boundary=\u00ff\u00ff"},
    "a content type with no boundary": {"Content-Type": "multipart/form-data"},
    "a chat token of latin-1 bytes": {"Authorization": "Bearer \u00ff.\u00fe.\u00fd"},
    "a slack signature of latin-1 bytes": {
        "X-Slack-Request-Timestamp": "{now}",
        "X-Slack-Signature": "v0=\u00ff",
    },
    "a slack timestamp of a superscript digit": {
        "X-Slack-Request-Timestamp": "\u00b2",
        "X-Slack-Signature": "v0=0",
    },
}


def routes(image_id: str, share_id: str, token: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/setup"),
        ("GET", "/login?next=/%FF%FE"),
        ("GET", "/oauth/callback?state=%FF&code=%00"),
        ("GET", "/link/%FF%FE"),
        ("GET", "/link/" + "a" * 5000),
        ("GET", f"/images/{image_id}"),
        ("GET", "/images/%FF%00"),
        ("GET", "/links"),
        ("GET", "/account"),
        ("GET", f"/s/{token}"),
        ("GET", "/s/%FF%FE%00"),
        ("POST", "/upload"),
        ("POST", f"/images/{image_id}/share"),
        ("POST", f"/images/{image_id}/delete"),
        ("POST", f"/links/{share_id}/revoke"),
        ("POST", "/link/confirm"),
        ("POST", "/gchat/events"),
        ("POST", "/slack/events"),
    ]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed in"])
def test_odd_headers_never_make_a_route_fail(
    client: FlaskClient, services: Any, person: Any, signed_in: bool
) -> None:
    ada = person("ada", Identity("slack", "T0001", "U1"))
    image = services.library.upload(ada, io.BytesIO(images.png(1)), filename="ada.png").image
    share = services.shares.share(ada, image.id)
    token = share.url.rsplit("/", 1)[-1]
    failures = []
    now = str(int(time.time()))
    for name, odd in ODD_HEADERS.items():
        headers = {k: v.replace("{now}", now) for k, v in odd.items()}
        for method, path in routes(image.id, share.id, token):
            for body in (b"\xff\xfe\x00 not utf-8", "odd \u00e9 body".encode()):
                if signed_in:
                    sign_in_as(client, ada)
                answer = client.open(path, method=method, headers=headers, data=body)
                if answer.status_code >= 500:
                    failures.append((name, method, path, answer.status_code))
                client.delete_cookie("session")
    assert failures == []
