"""CLOUDBOX_LOG_FORMAT=json: one JSON object per line, in the shape Cloud Logging reads.

Each line has `severity`, `message`, `logger` and `time`; inside a request that carries a trace
(`X-Cloud-Trace-Context`, or W3C `traceparent`) it also has `logging.googleapis.com/trace`, so
Cloud Logging groups a request's lines. Messages are scrubbed on the way out: share and link
tokens, OAuth codes, Slack tokens, bearer tokens and email addresses never reach a log line.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from flask import has_request_context, request

from .request_logs import REDACTED, REQUEST_LOGGERS, redact

TRACE_FIELD = "logging.googleapis.com/trace"

_SECRETS = re.compile(
    r"\bxox[abposr]-[A-Za-z0-9-]+"  # Slack bot, user and refresh tokens
    r"|\bxapp-[A-Za-z0-9-]+"  # Slack app-level tokens
    r"|\bya29\.[A-Za-z0-9._-]+"  # Google access tokens
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]+"
)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/|$)")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def scrub(text: str) -> str:
    """`text` without the secrets and addresses a log line must never carry."""
    return _EMAIL.sub("[email]", _SECRETS.sub(REDACTED, redact(text)))


class CloudLoggingFormatter(logging.Formatter):
    def __init__(self, project: str | None = None):
        super().__init__()
        self._project = project

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        entry = {
            "severity": record.levelname,
            "message": scrub(message),
            "logger": record.name,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
        }
        trace = _trace_id()
        if trace is not None:
            entry[TRACE_FIELD] = f"projects/{self._project}/traces/{trace}" if self._project else trace
        return json.dumps(entry, ensure_ascii=False)


def _trace_id() -> str | None:
    if not has_request_context():
        return None
    cloud = _CLOUD_TRACE.match(request.headers.get("X-Cloud-Trace-Context", ""))
    if cloud:
        return cloud.group(1).lower()
    w3c = _TRACEPARENT.match(request.headers.get("traceparent", ""))
    return w3c.group(1) if w3c else None


def install(project: str | None) -> None:
    """Every handler of the root logger and of the servers' loggers writes JSON lines."""
    formatter = CloudLoggingFormatter(project)
    for name in ("", *REQUEST_LOGGERS):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(formatter)
