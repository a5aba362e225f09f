"""The admin's commands: `flask --app web_oauth audit | people | delete-library | revoke-shares`."""

from __future__ import annotations

import json
import re
import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from storage.model import Owner
from storage.models import utcnow
from storage.services import Services

from . import messages as m
from .extensions import services_of

_SINCE = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _since(value: str) -> timedelta:
    match = _SINCE.fullmatch(value.strip())
    if not match or int(match.group(1)) > 100_000:
        raise click.BadParameter(m.SINCE_FORMAT)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@click.command("audit")
@click.option("--since", "since", default="7d", show_default=True, help="How far back: 30m, 12h, 7d...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_appcontext
def audit_command(since: str, as_json: bool) -> None:
    """Print sign-ins, links, unlinks, shares, revocations, deletions and refusals."""
    entries = services_of(current_app).accounts.audit.since(utcnow() - _since(since))
    for entry in entries:
        if as_json:
            click.echo(json.dumps(entry.as_dict()))
        else:
            account = f"#{entry.account_id}" if entry.account_id is not None else "-"
            click.echo(
                f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.kind:<15} {account:<6} {entry.who}  {entry.detail}"
            )


@click.command("people")
@with_appcontext
def people_command() -> None:
    """Everyone with a library: usage and linked chat accounts."""
    services = services_of(current_app)
    for owner in services.accounts.everyone():
        usage = services.library.usage(owner).describe()
        chats = ", ".join(
            f"{i.platform} {i.tenant}/{i.chat_user}" for i in services.accounts.identities(owner)
        )
        click.echo(f"{owner.email}  ({usage})  {chats or m.NO_CHAT_ACCOUNT}")


def _person(services: Services, email: str) -> Owner:
    owner = services.accounts.by_email(email)
    if owner is None:
        click.echo(m.no_library(email), err=True)
        sys.exit(2)
    return owner


@click.command("delete-library")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete_library_command(email: str, yes: bool) -> None:
    """Delete every image of one person (their account and links stay)."""
    services = services_of(current_app)
    owner = _person(services, email)
    usage = services.library.usage(owner).describe()
    if not yes:
        click.confirm(m.delete_whole_library(owner.email, usage), abort=True)
    count = services.library.delete_all(owner)
    click.echo(m.images_deleted(count, owner.email))


@click.command("revoke-shares")
@click.argument("email")
@with_appcontext
def revoke_shares_command(email: str) -> None:
    """Turn off every link one person has made."""
    services = services_of(current_app)
    owner = _person(services, email)
    click.echo(m.links_turned_off(services.shares.revoke_all(owner), owner.email))


COMMANDS = (audit_command, people_command, delete_library_command, revoke_shares_command)
