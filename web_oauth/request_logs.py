"""Request logs never carry the secrets that travel in CloudBox's URLs.

A share link (`/s/<token>`) and a link request (`/link/<token>`) are bearer secrets: whoever
reads one in a log can open the image or bind the chat account. The OAuth callback's `code`
and `state` are short-lived secrets too. The servers' own request logs (werkzeug's dev server,
gunicorn's access and error logs) print the request line; this filter rewrites those records.
"""

from __future__ import annotations

import logging
import re

# The servers' loggers that print request lines or URIs.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")
REDACTED = "[redacted]"

_PATH_TOKEN = re.compile(r"(/(?:s|link)/)[^\s/?#\"']+")
_QUERY_SECRET = re.compile(r"([?&](?:code|state|token)=)[^&\s#\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with share and link tokens and OAuth codes replaced by a placeholder."""
    return _QUERY_SECRET.sub(r"\1" + REDACTED, _PATH_TOKEN.sub(r"\1" + REDACTED, text))


class RedactTokens(logging.Filter):
    """Rewrites a record's formatted message with the secrets taken out."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a record that cannot be formatted is left to the handler's own error
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Attach the filter to every request logger of this process (once)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
