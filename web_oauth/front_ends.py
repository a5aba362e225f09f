"""Registers every front end on the app. One line per front end, in the order they match."""

from __future__ import annotations

from flask import Flask

from storage.services import Services


def register(app: Flask, services: Services) -> None:
    # Each front end adds its own line here (link flow, share links, gallery, Slack, Chat).
    return None
