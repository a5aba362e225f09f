"""Core Replies rendered as Slack messages and App Home views (Block Kit), within Slack's limits.

The core's `Rich` text becomes mrkdwn here: emphasis `*…*`, code `` `…` ``, links `<url|label>`,
and every piece of text escaped as Slack requires (`&`, `<`, `>`), so that a file name can never
become a link or an @channel mention.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core import messages
from bot.core.replies import Button, Confirm, ImageItem, Reply, Section
from bot.core.rich import Code, Emphasis, Markup, Rich, line, rich
from storage.words import clip

COMMAND_ACTION = "cloudbox_cmd_{}"  # a button whose value is a command for the core
URL_ACTION = "cloudbox_url_{}"  # a link button (Slack still sends a click to ack)
COMMAND_ACTION_RE = re.compile(r"^cloudbox_cmd_\d+$")
URL_ACTION_RE = re.compile(r"^cloudbox_url_\d+$")

MAX_BLOCKS = 50  # per message
MAX_HOME_BLOCKS = 100  # per App Home view
MAX_SECTION = 3000
MAX_IMAGE_URL = 3000
MAX_HEADER = 150
MAX_BUTTON_LABEL = 75
MAX_VALUE = 2000
MAX_ELEMENTS = 25


def message(reply: Reply, *, max_blocks: int = MAX_BLOCKS) -> dict[str, Any]:
    """`text` (notifications and fallback) and `blocks` for chat.postMessage / respond."""
    text = clip(mrkdwn_text(reply.text), 3900) or (reply.title or "CloudBox")
    return {"text": text, "blocks": blocks(reply, max_blocks)}


def blocks(reply: Reply, max_blocks: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    counter = ActionIds()
    out: list[dict[str, Any]] = []
    if reply.title:
        out.append(header(reply.title))
    # A titled listing's text repeats its items line by line: it serves as the fallback only.
    if reply.text and not (reply.title and reply.items):
        out.extend(sections(reply.text))
    for item in reply.items:
        out.extend(image_item(item, counter))
    notes = [n for n in reply.notes if str(n) not in reply.text]
    if notes:
        out.append({"type": "context", "elements": [mrkdwn(clip(mrkdwn_text(n), 2000)) for n in notes[:10]]})
    if reply.buttons:
        out.append(actions(reply.buttons, counter))
    if len(out) > max_blocks:  # never a silent cut: say so, and keep the buttons at the end
        tail = out[-1:] if reply.buttons else []
        out = out[: max_blocks - len(tail) - 1] + [_NOT_ALL_SHOWN] + tail
    return out


def short_message(reply: Reply) -> dict[str, Any]:
    """The reply as plain text in one section: what to send when Slack refuses the full one."""
    return {"text": clip(mrkdwn_text(reply.text), 3900) or "CloudBox", "blocks": sections(reply.text)[:1]}


def home(reply: Reply) -> dict[str, Any]:
    """An App Home view: the title, the text and its buttons, then each section in turn."""
    counter = ActionIds()
    out: list[dict[str, Any]] = [header(reply.title)] if reply.title else []
    out += _section(Section(reply.text, reply.items, reply.buttons), counter)
    for part in reply.sections:
        out += _section(part, counter)
    return {"type": "home", "blocks": out[:MAX_HOME_BLOCKS]}


def _section(part: Section, counter: ActionIds) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"type": "divider"}] if part.rule else []
    out += sections(part.text)
    for item in part.items:
        out += image_item(item, counter)
    if part.buttons:
        out.append(actions(part.buttons, counter))
    return out


_NOT_ALL_SHOWN = {
    "type": "context",
    "elements": [{"type": "mrkdwn", "text": messages.NOT_ALL_SHOWN}],
}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(clip(text, MAX_HEADER))}


def sections(text: Rich) -> list[dict[str, Any]]:
    """Text as mrkdwn sections of at most 3000 characters, split at line ends."""
    chunks: list[str] = []
    current = ""
    for piece in mrkdwn_text(text).splitlines():
        piece = clip(piece, MAX_SECTION)
        if current and len(current) + 1 + len(piece) > MAX_SECTION:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}\n{piece}" if current else piece
    if current.strip():
        chunks.append(current)
    return [{"type": "section", "text": mrkdwn(chunk)} for chunk in chunks]


def image_item(item: ImageItem, counter: ActionIds) -> list[dict[str, Any]]:
    image = item.image
    text = rich(line(Emphasis(image.name)), line(Code(image.id), f" · {item.subtitle}"))
    section: dict[str, Any] = {"type": "section", "text": mrkdwn(clip(mrkdwn_text(text), MAX_SECTION))}
    if item.preview_url and len(item.preview_url) <= MAX_IMAGE_URL:
        section["accessory"] = {
            "type": "image",
            "image_url": item.preview_url,
            "alt_text": clip(messages.preview_of(image.name), 2000),
        }
    out = [section]
    if item.buttons:
        out.append(actions(item.buttons, counter))
    return out


def actions(buttons: list[Button], counter: ActionIds) -> dict[str, Any]:
    return {"type": "actions", "elements": [button(b, counter) for b in buttons[:MAX_ELEMENTS]]}


def button(spec: Button, counter: ActionIds) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(clip(spec.label, MAX_BUTTON_LABEL))}
    if spec.url:
        element["action_id"] = URL_ACTION.format(counter.next())
        element["url"] = spec.url
    else:
        element["action_id"] = COMMAND_ACTION.format(counter.next())
        element["value"] = (spec.command or "help")[:MAX_VALUE]
    if spec.style in ("primary", "danger"):
        element["style"] = spec.style
    if spec.confirm:
        element["confirm"] = confirm(spec.confirm, danger=spec.style == "danger")
    return element


def confirm(spec: Confirm, *, danger: bool) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": plain(clip(spec.title, 100)),
        "text": plain(clip(spec.text, 300)),
        "confirm": plain(clip(spec.ok, 30)),
        "deny": plain(clip(spec.cancel, 30)),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text or " "}


def mrkdwn_text(text: Rich) -> str:
    """Rich text as Slack mrkdwn, every piece of text escaped."""
    return _MRKDWN.render(text)


class ActionIds:
    """Action ids unique within one message."""

    def __init__(self) -> None:
        self._n = 0

    def next(self) -> int:
        self._n += 1
        return self._n


def _escape(text: str) -> str:
    # Core text carries file names (other people's text): an unescaped < > could become a
    # link or an @channel mention. Slack's rule: escape exactly & < >.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MRKDWN = Markup(escape=_escape, emphasis="*{}*", code="`{}`", link="<{url}|{label}>")
