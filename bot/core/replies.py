"""Neutral replies: what to say and which buttons to offer, rendered by each chat adapter.

Words are `Rich` (lines of plain text, emphasis, code and links), never a platform's markup;
a plain `str` given for them is taken as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.model import Image

from .rich import Rich


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
class Section:
    """A further part of a long reply (App Home): its text, then its images, then its buttons."""

    text: Rich
    items: list[ImageItem] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    rule: bool = False  # set apart from what comes before it by a line


@dataclass(frozen=True)
class Reply:
    text: Rich
    public: bool = False
    title: str | None = None
    items: list[ImageItem] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    notes: list[Rich] = field(default_factory=list)
    # What a listing does not show and where to find it ("…and 90 more, all in your library");
    # also the last line of `text`, for renderers that show only the items.
    more: Rich | None = None
    sections: list[Section] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Plain strings are welcome (tests, simple answers); renderers see only Rich.
        object.__setattr__(self, "text", Rich.of(self.text))
        object.__setattr__(self, "notes", [Rich.of(n) for n in self.notes])
        if self.more is not None:
            object.__setattr__(self, "more", Rich.of(self.more))
