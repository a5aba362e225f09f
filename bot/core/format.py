"""How sizes, times and images are written in chat messages."""

from __future__ import annotations

from datetime import datetime

from storage.model import Image

from . import messages
from .rich import Line, Part


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def human_time(moment: datetime) -> str:
    return moment.strftime("%-d %b %Y %H:%M UTC")


def subtitle(image: Image) -> str:
    return f"{human_size(image.size)} · {image.width}×{image.height} · {image.created_at:%-d %b %Y}"


def image_line(image: Image, *lead: Part) -> Line:
    return messages.image_line(image.id, image.name, subtitle(image), *lead)
