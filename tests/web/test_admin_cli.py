"""The admin's trail and commands: audit, people, delete-library, revoke-shares."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask

from storage.accounts import Identity
from storage.services import Services
from tests.standins.images import png


def cli(app: Flask, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]  # noqa: A002
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_the_audit_log_records_links_shares_revocations_deletions_and_prints_them(
    forged_web: tuple[Flask, Services],
) -> None:
    app, services = forged_web
    owner = services.accounts.ensure_account("2001", "ada@example.com")
    services.accounts.link(Identity("slack", "T0001", "U7"), owner)
    image = services.library.upload(owner, [png(61)], filename="a.png").image
    share = services.shares.share(owner, image.id, created_by="U7")
    services.shares.revoke(owner, share.id)
    services.library.delete(owner, image.id)
    services.accounts.unlink(Identity("slack", "T0001", "U7"))

    result = cli(app, "audit", "--since", "1h", "--json")
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.output.splitlines()]
    assert [e["kind"] for e in entries] == ["link", "share", "revoke", "delete", "unlink"]
    assert all(e["account_id"] == owner.id for e in entries)
    assert "slack T0001/U7" in entries[0]["detail"] and "slack T0001/U7" in entries[-1]["detail"]
    # No token or URL in the trail: the link is named by its id only.
    assert share.url.rsplit("/", 1)[-1] not in result.output and "http" not in result.output
    assert "ada@example.com" in cli(app, "audit").output
    assert cli(app, "audit", "--since", "forever").exit_code == 2


def test_old_entries_are_purged_after_the_retention(forged_web: tuple[Flask, Services]) -> None:
    _, services = forged_web
    services.accounts.audit.record("sign-in", who="old@example.com")
    assert services.accounts.audit.purge(timedelta(days=-1)) >= 1  # everything is older than tomorrow
    assert services.accounts.audit.since(services.library._now() - timedelta(days=1)) == []


def test_people_delete_library_and_revoke_shares(forged_web: tuple[Flask, Services]) -> None:
    app, services = forged_web
    owner = services.accounts.ensure_account("2002", "bo@example.com")
    services.accounts.link(Identity("gchat", "spaces", "users/9"), owner)
    first = services.library.upload(owner, [png(62)], filename="a.png").image
    services.library.upload(owner, [png(63)], filename="b.png")
    share = services.shares.share(owner, first.id)
    assert [s.id for s in services.shares.links(owner)] == [share.id]

    people = cli(app, "people")
    assert "bo@example.com  (2 images" in people.output and "gchat spaces/users/9" in people.output

    revoked = cli(app, "revoke-shares", "bo@example.com")
    assert "Turned off 1 links" in revoked.output
    assert services.shares.links(owner) == []  # the one link (share) is off

    refused = cli(app, "delete-library", "bo@example.com", input="n\n")
    assert refused.exit_code != 0 and services.library.usage(owner).images == 2
    deleted = cli(app, "delete-library", "BO@example.com", "--yes")
    assert "Deleted 2 images" in deleted.output and services.library.usage(owner).images == 0
    assert cli(app, "delete-library", "nobody@example.com", "--yes").exit_code == 2
