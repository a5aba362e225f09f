"""Files made once per installation, safe when several processes start at the same moment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_once(path: Path, text: str) -> str:
    """Write `text` to `path` unless it exists; return what `path` holds either way.

    The text is written in full to a private temporary file, which is then linked into place:
    the link either succeeds or finds the file another process made, and nobody ever reads a
    half-written one. gunicorn's workers on a fresh instance folder all get here at once.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text()
        return text
    finally:
        os.unlink(temporary)
