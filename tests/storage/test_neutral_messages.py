"""Storage speaks plain sentences: chat markup and command names belong to the chat edge."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import storage

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
