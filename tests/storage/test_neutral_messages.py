"""Storage speaks plain sentences: chat markup and command names belong to the chat edge."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import storage
from storage import messages

# Slack-style markup (`code`, *bold*, _italic_) and the chat commands a sentence could name.
_MARKUP = re.compile(r"`|\*\w[^*]*\*|(?<![\w/])_\w[^_]*_(?!\w)")
_COMMANDS = re.compile(r"/cloudbox|\b(?:unshare|unlink)\b")


def _sentences(path: Path) -> list[str]:
    """String constants that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_storage_sentence_carries_chat_markup_or_names_a_chat_command() -> None:
    found = [
        f"{path.name}: {text!r}"
        for path in sorted(Path(storage.__file__).parent.glob("*.py"))
        for text in _sentences(path)
        if " " in text and (_MARKUP.search(text) or _COMMANDS.search(text))
    ]
    assert found == []


def test_storage_messages_is_where_the_sentences_are_and_is_read_too() -> None:
    path = Path(messages.__file__)
    assert path in Path(storage.__file__).parent.glob("*.py")
    assert len([text for text in _sentences(path) if " " in text]) > 30


def test_the_parametrised_sentences_stay_neutral_once_filled_in() -> None:
    """Filled in with names that look like markup, only the name itself may carry it."""
    filled = [
        messages.no_such_image("beach"),
        messages.ambiguous_name("beach", ["k3m9x2abcd", "p8q7r6stuv"]),
        messages.no_active_links("beach"),
        messages.not_stored_format("PSD"),
        messages.frame_larger_than_canvas(4000, 3000),
        messages.more_pixels_than(100_000_000),
        messages.too_many_pixels(20_000, 20_000, 100_000_000, first_frame=True),
        messages.too_many_pixels(20_000, 20_000, 100_000_000, first_frame=False),
        messages.too_many_frames(2000, 1000),
        messages.too_much_jpeg_work(500, 12_000_000),
        messages.too_large_to_process("900 MB", "512 MB"),
        messages.cannot_remake_preview(messages.DAMAGED),
        messages.usage(3, 10, 5 * 1024 * 1024, None),
        messages.past_image_quota(10, messages.usage(10, 10, 1024, None)),
        messages.past_size_quota(1024 * 1024, messages.usage(1, None, 1024, 1024 * 1024)),
        messages.links_last_at_most(timedelta(days=7)),
    ]
    assert [text for text in filled if _MARKUP.search(text) or _COMMANDS.search(text)] == []
