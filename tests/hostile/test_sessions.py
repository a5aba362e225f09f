"""A copied session cookie stops working when its account signs out, unlinks or deletes its library."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from storage.accounts import Identity
from tests.slack.helpers import SlackSender
from tests.web.conftest import sign_in_as

SLACK_ADA = Identity("slack", "T0001", "U1")


def _csrf(client: FlaskClient, path: str = "/account") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _opens_account(app: Flask, cookie: str) -> bool:
    """Whether a browser holding only this cookie (a copy of it) sees the Account page."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/account").status_code == 200


def test_signing_out_ends_a_copied_session(app: Flask, client: FlaskClient, person: Any) -> None:
    sign_in_as(client, person("ada"))
    token = _csrf(client)
    stolen = _session_cookie(client)
    assert _opens_account(app, stolen)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert not _opens_account(app, stolen)
    assert client.get("/account").status_code != 200


def test_a_session_of_the_current_generation_still_works(
    app: Flask, client: FlaskClient, services: Any, person: Any
) -> None:
    ada = person("ada")
    sign_in_as(client, ada)
    client.post("/logout", data={"csrf_token": _csrf(client)})
    owner = services.accounts.by_google_sub(ada.google_sub)
    assert owner.sessions_generation == 1
    fresh = app.test_client()
    with fresh.session_transaction() as session:  # what signing in again puts there
        session["account"] = {"sub": owner.google_sub, "email": owner.email, "gen": 1}
    assert fresh.get("/account").status_code == 200


def test_unlinking_on_the_web_ends_every_other_session(app: Flask, client: FlaskClient, person: Any) -> None:
    sign_in_as(client, person("ada", SLACK_ADA))
    token = _csrf(client)
    stolen = _session_cookie(client)
    client.post(
        "/account/unlink",
        data={"csrf_token": token, "platform": "slack", "tenant": "T0001", "chat_user": "U1"},
    )
    assert not _opens_account(app, stolen)
    assert client.get("/account").status_code == 200  # the person who acted stays signed in


def test_deleting_the_library_ends_every_other_session(app: Flask, client: FlaskClient, person: Any) -> None:
    sign_in_as(client, person("ada"))
    token = _csrf(client)
    stolen = _session_cookie(client)
    client.post("/account/delete-library", data={"csrf_token": token, "confirm": "delete-everything"})
    assert not _opens_account(app, stolen)
    assert client.get("/account").status_code == 200


def test_unlinking_from_chat_ends_the_web_sessions(
    app: Flask, client: FlaskClient, slack: SlackSender, person: Any
) -> None:
    sign_in_as(client, person("ada", SLACK_ADA))
    stolen = _session_cookie(client)
    answer, response_url = slack.command("unlink keep", user="U1")
    assert answer.status == 200
    slack.fake.wait_for("response_url", lambda c: c.path.endswith(response_url.rsplit("/", 1)[-1]))
    assert not _opens_account(app, stolen)
