"""Accounts, chat identities and one-time link requests on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.accounts import Accounts, Identity
from storage.errors import AlreadyUsed, Expired, NotFound
from storage.models import LinkRequestRow
from storage.services import Services

from .conftest import Clock

SLACK_ANN = Identity("slack", "T0001", "U0001")
GCHAT_ANN = Identity("gchat", "example.com", "users/123")


def test_ensure_account_is_idempotent_and_follows_email_changes(accounts: Accounts) -> None:
    first = accounts.ensure_account("4242", "ann@example.com")
    again = accounts.ensure_account("4242", "ann@example.com")
    assert again == first
    moved = accounts.ensure_account("4242", "ann@new.example")
    assert moved.id == first.id and moved.email == "ann@new.example"
    assert accounts.by_google_sub("4242") == moved
    assert accounts.by_google_sub("9999") is None
    assert accounts.ensure_account("4343", "other@example.com").id != first.id


def test_link_relink_and_unlink(accounts: Accounts) -> None:
    ann = accounts.ensure_account("1", "ann@example.com")
    work = accounts.ensure_account("2", "ann@work.example")
    assert accounts.owner_of(SLACK_ANN) is None
    assert accounts.link(SLACK_ANN, ann) is None
    assert accounts.link(SLACK_ANN, ann) is None  # linking again to the same account changes nothing
    assert accounts.owner_of(SLACK_ANN) == ann
    assert accounts.link(SLACK_ANN, work) == ann  # re-linking says which account it left
    assert accounts.owner_of(SLACK_ANN) == work
    assert accounts.unlink(SLACK_ANN) == work
    assert accounts.owner_of(SLACK_ANN) is None
    assert accounts.unlink(SLACK_ANN) is None


def test_slack_and_chat_identities_share_one_library(accounts: Accounts) -> None:
    ann = accounts.ensure_account("1", "ann@example.com")
    accounts.link(SLACK_ANN, ann)
    accounts.link(GCHAT_ANN, ann)
    assert accounts.owner_of(SLACK_ANN) == accounts.owner_of(GCHAT_ANN) == ann
    assert accounts.identities(ann) == [SLACK_ANN, GCHAT_ANN]
    # The same user id in another workspace is another person.
    assert accounts.owner_of(Identity("slack", "T0002", "U0001")) is None


def test_unknown_platform_is_refused() -> None:
    with pytest.raises(ValueError):
        Identity("irc", "libera", "ann")


def test_link_request_is_used_exactly_once(accounts: Accounts) -> None:
    token = accounts.create_link_request(GCHAT_ANN, return_url="https://chat.example/done")
    peeked = accounts.peek_link_request(token)
    assert peeked.identity == GCHAT_ANN and peeked.return_url == "https://chat.example/done"
    assert accounts.consume_link_request(token).identity == GCHAT_ANN
    with pytest.raises(AlreadyUsed):
        accounts.consume_link_request(token)
    with pytest.raises(AlreadyUsed):
        accounts.peek_link_request(token)


def test_link_request_expires_after_ten_minutes(accounts: Accounts, clock: Clock) -> None:
    token = accounts.create_link_request(SLACK_ANN)
    clock.advance(timedelta(minutes=9, seconds=59))
    accounts.peek_link_request(token)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(Expired):
        accounts.peek_link_request(token)
    with pytest.raises(Expired):
        accounts.consume_link_request(token)


@pytest.mark.parametrize("forged", ["", "x", secrets.token_urlsafe(32), "' OR 1=1 --"])
def test_forged_link_token_is_not_found(accounts: Accounts, forged: str) -> None:
    accounts.create_link_request(SLACK_ANN)
    with pytest.raises(NotFound):
        accounts.consume_link_request(forged)
    with pytest.raises(NotFound):
        accounts.peek_link_request(forged)


def test_link_token_is_stored_only_as_a_hash(accounts: Accounts, catalog_services: Services) -> None:
    token = accounts.create_link_request(SLACK_ANN)
    with catalog_services.sessions() as session:
        [row] = session.scalars(select(LinkRequestRow)).all()
    assert row.token_hash != token and token not in (row.return_url or "")


def test_purge_drops_only_long_dead_link_requests(accounts: Accounts, clock: Clock) -> None:
    old = accounts.create_link_request(SLACK_ANN)
    clock.advance(timedelta(days=1, minutes=11))
    fresh = accounts.create_link_request(GCHAT_ANN)
    assert accounts.purge_link_requests() == 1
    with pytest.raises(NotFound):
        accounts.peek_link_request(old)
    accounts.peek_link_request(fresh)
