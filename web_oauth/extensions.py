"""Where request-time code finds what `create_app` built: a leaf, importing nothing of web_oauth.

`create_app` puts the process's Services on the app; views, the CLI and health checks reach
them through `services()` (or `services_of(app)` outside a request), never through app.py.
"""

from __future__ import annotations

from flask import Flask, current_app

from storage.services import Services

SERVICES_KEY = "cloudbox"


def services_of(app: Flask) -> Services:
    return app.extensions[SERVICES_KEY]  # type: ignore[no-any-return]


def services() -> Services:
    """The Services of the app handling this request or CLI command."""
    return services_of(current_app)
