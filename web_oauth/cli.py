"""CLI commands: `flask --app web_oauth doctor` and friends."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from storage.consistency import ConsistencyCheck

from . import admin_cli, doctor
from . import messages as m
from .extensions import components_of, services_of

_MARKS = {doctor.OK: "✔", doctor.MISSING: "…", doctor.FAILED: "✘", doctor.INFO: "•"}


@click.command("doctor")
@click.option("--offline", is_flag=True, help="Skip checks that call Slack or Google.")
@with_appcontext  # commands added with add_command get no app context from app.cli otherwise
def doctor_command(offline: bool) -> None:
    """Report what is configured, what is missing and whether it works."""

    built = components_of(current_app)
    checks = doctor.run_checks(built.services, network=not offline, oidc=built.oidc)
    for check in checks:
        click.echo(f"{_MARKS[check.status]} {check.name:<15} {check.detail}")
    if any(c.status == doctor.FAILED for c in checks):
        sys.exit(1)


@click.command("recover")
@with_appcontext
def recover_command() -> None:
    """Finish uploads and deletions that a crash interrupted."""

    count = services_of(current_app).library.recover()
    click.echo(m.operations_finished(count))


@click.command("check-consistency")
@with_appcontext
@click.option("--repair", is_flag=True, help="Fix what is found (orphans past the grace period only).")
@click.option(
    "--grace-minutes",
    type=click.IntRange(min=0),
    default=15,
    show_default=True,
    help="Leave objects and uploads younger than this alone: they may still be in flight.",
)
def check_consistency_command(repair: bool, grace_minutes: int) -> None:
    """Compare the catalog with the bucket; exit 1 while they disagree."""
    services = services_of(current_app)
    checker = ConsistencyCheck(
        services.sessions, services.blobs, services.library, grace=timedelta(minutes=grace_minutes)
    )
    report = checker.check()
    click.echo(m.consistency(report.consistent, report.summary()))
    for orphan in report.orphan_objects[:20]:
        click.echo(m.orphan_object(orphan.name))
    for row in report.missing_originals[:20]:
        click.echo(m.missing_original(row.image_id, row.object_name))
    for row in report.missing_previews[:20]:
        click.echo(m.missing_preview(row.image_id, row.preview_object_name))
    for row in report.unfinished[:20]:
        click.echo(m.unfinished(row.status, row.image_id))
    if report.consistent:
        return
    if not repair:
        click.echo(m.RUN_WITH_REPAIR)
        sys.exit(1)
    click.echo(m.repaired(checker.repair(report).summary()))
    after = checker.check()
    click.echo(m.consistency(after.consistent, after.summary(), after_repair=True))
    if not after.consistent:
        sys.exit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(doctor_command)
    app.cli.add_command(recover_command)
    app.cli.add_command(check_consistency_command)
    for command in admin_cli.COMMANDS:
        app.cli.add_command(command)
