"""Small word helpers shared by every layer: clipping, counting, sizes and platform names.

They live in `storage/` because it is the layer everything may import (storage imports no bot
or web code); each is defined here once.
"""

from __future__ import annotations

PLATFORM_NAMES = {"slack": "Slack", "gchat": "Google Chat"}

_MIB = 1024 * 1024


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the last one an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, noun: str) -> str:
    """ "1 file", "2 files": a count with its noun."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def megabytes(size: int) -> str:
    """A limit in bytes as people read it: "50 MB", "1.5 MB"."""
    return f"{size / _MIB:g} MB"


def larger_than(limit: int) -> str:
    """The refusal of a file over the size limit, as the end of a sentence about the file."""
    return f"is larger than the {megabytes(limit)} limit"


def platform_name(platform: str) -> str:
    """ "Google Chat" for "gchat"; an unknown platform by its own name."""
    return PLATFORM_NAMES.get(platform, platform)
