"""Rich text without markup: the structure of what the core says, for each adapter to render.

A `Rich` is lines; a line is runs of plain text, emphasis, code and links, and may be an item
of a list. The core builds these and never writes a platform's markup; `bot/slack/blocks.py`
turns them into Slack mrkdwn, `bot/gchat/cards.py` into Chat's message text and card HTML.

Read as text (`str()`, `in`, `splitlines()`, `replace()`) a `Rich` is the common chat notation, `*emphasis*`
and `` `code` ``, unescaped: what logs and plain-text checks see. Renderers never parse it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

BULLET = "• "


@dataclass(frozen=True)
class Plain:
    text: str


@dataclass(frozen=True)
class Emphasis:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class LinkTo:
    """A link; without a label it is shown as the address itself."""

    url: str
    label: str = ""


Run = Plain | Emphasis | Code | LinkTo
Part = Run | str  # a str is plain text


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...] = ()
    bullet: bool = False  # an item of a list


@dataclass(frozen=True)
class Rich:
    lines: tuple[Line, ...] = ()

    @classmethod
    def of(cls, text: Rich | str) -> Rich:
        """`text` as it is, or plain text (one line per line of the string)."""
        if isinstance(text, Rich):
            return text
        return cls(tuple(line(part) for part in text.split("\n"))) if text else cls()

    def __add__(self, other: Rich) -> Rich:
        return Rich(self.lines + other.lines)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def __str__(self) -> str:
        return NOTATION.render(self)

    def __contains__(self, text: str) -> bool:
        return text in str(self)

    def splitlines(self) -> list[str]:
        return str(self).splitlines()

    def replace(self, old: str, new: str) -> str:
        return str(self).replace(old, new)


def line(*parts: Part, bullet: bool = False) -> Line:
    return Line(tuple(Plain(p) if isinstance(p, str) else p for p in parts if p != ""), bullet)


def rich(*lines: Line | str) -> Rich:
    """Lines (a str is one plain line) as one `Rich`."""
    return Rich(tuple(line(ln) if isinstance(ln, str) else ln for ln in lines))


def join(parts: Iterable[Part], separator: Part) -> list[Part]:
    """The parts with `separator` between each two: `*a*, *b*` for a line."""
    out: list[Part] = []
    for part in parts:
        if out:
            out.append(separator)
        out.append(part)
    return out


@dataclass(frozen=True)
class Markup:
    """How one surface writes `Rich` text: its escape for text, its marks and its line break.

    `emphasis` and `code` are formats of the escaped text; `link` of `url` and `label`, for a
    link with a label (one without is shown as its address).
    """

    escape: Callable[[str], str]
    emphasis: str
    code: str
    link: str
    newline: str = "\n"

    def render(self, text: Rich) -> str:
        return self.newline.join(self._line(ln) for ln in text.lines)

    def _line(self, ln: Line) -> str:
        return (BULLET if ln.bullet else "") + "".join(self._run(run) for run in ln.runs)

    def _run(self, run: Run) -> str:
        match run:
            case Emphasis(text=text):
                return self.emphasis.format(self.escape(text))
            case Code(text=text):
                return self.code.format(self.escape(text))
            case LinkTo(url=url, label=label) if label:
                return self.link.format(url=self.escape(url), label=self.escape(label))
            case LinkTo(url=url):
                return self.escape(url)
            case Plain(text=text):
                return self.escape(text)
        raise AssertionError(run)


# The common notation, for reading a Rich as a str; nothing is escaped.
NOTATION = Markup(escape=str, emphasis="*{}*", code="`{}`", link="{label} ({url})")
