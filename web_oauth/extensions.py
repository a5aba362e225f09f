"""Where request-time code finds what `create_app` built: one accessor, and a leaf (it imports
only the types it holds, none of which imports it or any view).

`create_app` puts one `Components` on the app; views, CLI commands and health checks reach it
through `components()` (or `components_of(app)` outside a request), never through app.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app

from bot.front_end import ChatFrontEnd
from bot.ingest.worker import IngestWorker
from bot.runtime import ChatRuntime
from storage.accounts import LinkMade
from storage.services import Services

from .doctor import RecentChecks
from .foreground import Foreground
from .oidc import OidcClient

_KEY = "cloudbox"


@dataclass
class Components:
    """Everything this process runs, built once from one Settings."""

    services: Services
    chat: ChatRuntime
    worker: IngestWorker
    foreground: Foreground
    front_ends: dict[str, ChatFrontEnd] = field(default_factory=dict)  # by platform name
    oidc: OidcClient | None = None  # None until Google sign-in is configured
    # Called with each link the web flow makes: the worker saves what waited for it, and each
    # chat front end tells the person which Google account is now linked.
    on_linked: list[Callable[[LinkMade], None]] = field(default_factory=list)
    recent_checks: RecentChecks = field(default_factory=RecentChecks)  # what /setup shows


def install(app: Flask, built: Components) -> None:
    app.extensions[_KEY] = built


def components_of(app: Flask) -> Components:
    return app.extensions[_KEY]  # type: ignore[no-any-return]


def components() -> Components:
    """What the app handling this request or CLI command runs."""
    return components_of(current_app)


def services_of(app: Flask) -> Services:
    return components_of(app).services


def services() -> Services:
    """The Services of the app handling this request or CLI command."""
    return services_of(current_app)
