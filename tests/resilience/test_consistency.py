"""The consistency check and its CLI, against fake-gcs-server on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from storage.consistency import ConsistencyCheck
from storage.model import Owner
from storage.models import ImageRow, ShareRow, utcnow
from storage.services import Services
from tests.standins import images


def upload(services: Services, owner: Owner, seed: int) -> str:
    return services.library.upload(owner, io.BytesIO(images.png(seed)), filename=f"p{seed}.png").image.id


def checker(services: Services, *, grace: timedelta = timedelta(minutes=15), later: timedelta = timedelta(0)):
    return ConsistencyCheck(
        services.sessions, services.blobs, services.library, grace=grace, clock=lambda: utcnow() + later
    )


def test_an_intact_library_is_consistent(resilient_services: Services, owner: Owner) -> None:
    for seed in range(3):
        upload(resilient_services, owner, seed)
    report = checker(resilient_services).check()
    assert report.consistent and report.rows == 3 and report.objects == 6


def test_damage_both_ways_is_found_and_repaired(resilient_services: Services, owner: Owner) -> None:
    services = resilient_services
    lost, no_preview, half_deleted, intact = (upload(services, owner, s) for s in range(4))
    services.shares.share(owner, lost)
    rows = {r.id: r for r in services.library.list(owner).images}
    services.blobs.delete(rows[lost].object_name)
    services.blobs.delete(rows[no_preview].preview_object_name)
    with services.sessions.begin() as session:
        session.execute(update(ImageRow).where(ImageRow.id == half_deleted).values(status="deleting"))
    services.blobs.put("users/nobody/stray.png", io.BytesIO(b"x"), size=1, content_type="image/png")

    report = checker(services).check()
    assert not report.consistent
    assert [o.name for o in report.orphan_objects] == ["users/nobody/stray.png"]
    assert [r.image_id for r in report.missing_originals] == [lost]
    assert [r.image_id for r in report.missing_previews] == [no_preview]
    assert [r.image_id for r in report.unfinished] == [half_deleted]

    # Within the grace period the stray object is left alone: it could be an upload in flight.
    repairs = checker(services).repair(report)
    assert (repairs.orphans_deleted, repairs.orphans_too_recent) == (0, 1)
    assert (repairs.rows_deleted, repairs.previews_remade, repairs.unfinished_finished) == (1, 1, 1)
    assert not repairs.failures

    later = checker(services, later=timedelta(minutes=16))
    assert later.repair(later.check()).orphans_deleted == 1
    assert checker(services).check().consistent
    assert {i.id for i in services.library.list(owner).images} == {no_preview, intact}
    preview = services.blobs.read(rows[no_preview].preview_object_name)
    assert preview.startswith(b"\xff\xd8")  # a JPEG again
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ShareRow)) == 0


def test_an_upload_in_flight_is_neither_orphan_nor_missing(
    resilient_services: Services, owner: Owner
) -> None:
    services = resilient_services
    image_id = upload(services, owner, 9)
    with services.sessions.begin() as session:  # as it is between claiming its row and publishing
        session.execute(update(ImageRow).where(ImageRow.id == image_id).values(status="storing"))
    services.blobs.delete(f"{owner.prefix}{image_id}.preview.jpg")  # preview not written yet
    assert checker(services).check().consistent
    # Long after, the same row is an abandoned upload that recover() (via repair) finishes.
    stale = checker(services, later=timedelta(minutes=16))
    report = stale.check()
    assert [r.image_id for r in report.unfinished] == [image_id]
    assert stale.repair(report).unfinished_finished == 1
    assert checker(services).check().consistent and not list(services.blobs.names("users/"))


@pytest.fixture
def cli(resilient_services: Services):  # type: ignore[no-untyped-def]
    from web_oauth import create_app

    app = create_app(services=resilient_services, test_config={"TESTING": True})
    return app.test_cli_runner()


def test_cli_exits_1_while_inconsistent_and_repairs_on_request(
    cli, resilient_services: Services, owner: Owner
) -> None:  # type: ignore[no-untyped-def]
    image_id = upload(resilient_services, owner, 3)
    assert cli.invoke(args=["check-consistency"]).exit_code == 0
    resilient_services.blobs.delete(f"{owner.prefix}{image_id}.png")
    resilient_services.blobs.put("users/x/stray.jpg", io.BytesIO(b"y"), size=1, content_type="image/jpeg")

    found = cli.invoke(args=["check-consistency"])
    assert found.exit_code == 1
    assert "1 orphan object(s), 1 row(s) missing their original" in found.output
    assert "users/x/stray.jpg" in found.output and "--repair" in found.output

    # The stray object is brand new: a plain repair leaves it (grace period) and still says so.
    cautious = cli.invoke(args=["check-consistency", "--repair"])
    assert cautious.exit_code == 1 and "1 left alone" in cautious.output
    repaired = cli.invoke(args=["check-consistency", "--repair", "--grace-minutes", "0"])
    assert repaired.exit_code == 0, repaired.output
    assert cli.invoke(args=["check-consistency"]).exit_code == 0
    assert resilient_services.library.list(owner).total == 0
