"""Parsing `/cloudbox …` text into typed commands. Pure: no I/O, no platform payloads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from storage.accounts import ChatProfile, Identity

from . import messages
from .rich import Rich

CURSOR_PREFIX = "after:"  # what a "Next page" button adds to `list`: where the page starts


@dataclass(frozen=True)
class Actor:
    """Who is asking: their chat identity and a display name for "shared by"."""

    identity: Identity
    name: str = ""
    # What the platform said about the person when the request carried it (Chat events do);
    # a link offered to them is made at once only for a Google account with this email.
    profile: ChatProfile | None = None
    reply_to: str | None = None  # where to tell them the link was made (a Chat space)


@dataclass(frozen=True)
class Help:
    topic: str = ""


@dataclass(frozen=True)
class Link:
    pass


@dataclass(frozen=True)
class Unlink:
    choice: str = ""  # "" asks; "keep" keeps the library; "delete" deletes it first


@dataclass(frozen=True)
class WhoAmI:
    pass


@dataclass(frozen=True)
class ListImages:
    page: int = 1
    words: str = ""
    after: str | None = None  # a "Next page" button's cursor


@dataclass(frozen=True)
class ShareImage:
    ref: str
    ttl: timedelta | None = None


@dataclass(frozen=True)
class Unshare:
    ref: str


@dataclass(frozen=True)
class Links:
    pass


@dataclass(frozen=True)
class DeleteImage:
    ref: str
    confirmed: bool = False


@dataclass(frozen=True)
class Settings:
    """Show the person's settings, or change where their location metadata goes."""

    location: str = ""  # "" (show) | "keep" | "remove" | "default"


@dataclass(frozen=True)
class Invalid:
    """Text that is not a command; `problem` says what is wrong, `verb` which usage to show."""

    problem: Rich
    verb: str = ""


Command = (
    Help
    | Link
    | Unlink
    | WhoAmI
    | ListImages
    | ShareImage
    | Unshare
    | Links
    | DeleteImage
    | Settings
    | Invalid
)


_DURATION_RE = re.compile(
    r"^(\d{1,4})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)$", re.IGNORECASE
)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_QUOTES = "\"'“”‘’"
MAX_TEXT = 1000


def parse(text: str) -> Command:
    """Turn the text after `/cloudbox` (or a DM message) into a command."""
    text = " ".join((text or "").split())
    if len(text) > MAX_TEXT:
        return Invalid(messages.TOO_LONG)
    if not text:
        return Help()
    verb, _, rest = text.partition(" ")
    verb = verb.lower().lstrip("/")
    match verb:
        case "help" | "?":
            return Help(rest.lower())
        case "link" | "login" | "connect":
            return Link()
        case "unlink" | "disconnect":
            choice = rest.lower()
            if choice not in ("", "keep", "delete"):
                return Invalid(messages.SAY_UNLINK_HOW, "unlink")
            return Unlink(choice)
        case "whoami" | "me":
            return WhoAmI()
        case "list" | "ls":
            return _list(rest)
        case "share":
            return _share(rest)
        case "unshare" | "revoke":
            ref = _unquote(rest)
            return Unshare(ref) if ref else Invalid(messages.WHICH_IMAGE_OR_LINK, "unshare")
        case "links":
            return Links()
        case "delete" | "del" | "rm":
            return _delete(rest)
        case "settings" | "setting":
            return _settings(rest)
    return Invalid(messages.unknown_verb(verb))


def _settings(rest: str) -> Command:
    words = rest.lower().split()
    if not words:
        return Settings()
    if words[0] == "location" and len(words) == 2 and words[1] in ("keep", "remove", "default"):
        return Settings(words[1])
    return Invalid(messages.SAY_SETTING_HOW, "settings")


def parse_duration(text: str) -> timedelta | None:
    """ "3 days", "12h", "90 minutes", "1 week" -> timedelta; None if it is not a duration."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)[0].lower()
    return timedelta(**{_UNITS[unit]: amount})


def _list(rest: str) -> Command:
    words = rest.split()
    page = 1
    if words and words[0].isdigit():
        page = int(words.pop(0))
        if page < 1 or page > 100_000:
            return Invalid(messages.PAGES_START_AT_1, "list")
    after = words.pop()[len(CURSOR_PREFIX) :] if words and words[-1].startswith(CURSOR_PREFIX) else None
    return ListImages(page, " ".join(words), after)


def _share(rest: str) -> Command:
    ref, ttl = rest, None
    before, sep, after = rest.rpartition(" for ")
    if sep:
        ttl = parse_duration(after)
        if ttl is None:
            return Invalid(messages.not_a_duration(after), "share")
        ref = before
    ref = _unquote(ref)
    if not ref:
        return Invalid(messages.WHICH_IMAGE, "share")
    return ShareImage(ref, ttl)


def _delete(rest: str) -> Command:
    confirmed = False
    if rest.lower().endswith(" confirm"):
        rest, confirmed = rest[: -len(" confirm")], True
    ref = _unquote(rest)
    if not ref:
        return Invalid(messages.WHICH_IMAGE, "delete")
    return DeleteImage(ref, confirmed)


def _unquote(text: str) -> str:
    return text.strip().strip(_QUOTES).strip()
