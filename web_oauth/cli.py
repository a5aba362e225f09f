"""CLI commands: `flask --app web_oauth doctor` and friends."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import doctor

_MARKS = {doctor.OK: "✔", doctor.MISSING: "…", doctor.FAILED: "✘", doctor.INFO: "•"}


@click.command("doctor")
@click.option("--offline", is_flag=True, help="Skip checks that call Slack or Google.")
@with_appcontext  # commands added with add_command get no app context from app.cli otherwise
def doctor_command(offline: bool) -> None:
    """Report what is configured, what is missing and whether it works."""
    from .app import services_of

    checks = doctor.run_checks(services_of(current_app), network=not offline)
    for check in checks:
        click.echo(f"{_MARKS[check.status]} {check.name:<15} {check.detail}")
    if any(c.status == doctor.FAILED for c in checks):
        sys.exit(1)


@click.command("recover")
@with_appcontext
def recover_command() -> None:
    """Finish uploads and deletions that a crash interrupted."""
    from .app import services_of

    count = services_of(current_app).library.recover()
    click.echo(f"{count} interrupted operation(s) finished")


def init_app(app: Flask) -> None:
    app.cli.add_command(doctor_command)
    app.cli.add_command(recover_command)
