"""The Flask side of CloudBox: app factory, linking, gallery, share links, health, CLI."""

from .app import create_app

__all__ = ["create_app"]
