"""Neutral replies: what to say and which buttons to offer, rendered by each chat adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.model import Image


@dataclass(frozen=True)
class Confirm:
    title: str
    text: str
    ok: str
    cancel: str = "Cancel"


@dataclass(frozen=True)
class Button:
    label: str
    command: str | None = None  # text run through CommandCore.handle when clicked
    url: str | None = None  # or a link to open
    style: str | None = None  # None | "primary" | "danger"
    confirm: Confirm | None = None


@dataclass(frozen=True)
class ImageItem:
    image: Image
    preview_url: str | None
    subtitle: str
    buttons: list[Button] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    text: str
    public: bool = False
    title: str | None = None
    items: list[ImageItem] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What a listing does not show and where to find it ("…and 90 more, all in your library");
    # also the last line of `text`, for renderers that show only the items.
    more: str | None = None
