"""What a process remembers for a while to skip repeated work: a bounded, thread-safe map.

`Recent` keeps the latest entries (the oldest go first past its size). `Renditions` answers
whether the bucket holds a display rendition, asking the bucket only until it says yes: a
rendition, once made, stays until its image is deleted, and a deleted image is never shown.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

from .blobstore import BlobStore

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, size: int = 4096):
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class Renditions:
    """Which display renditions the bucket holds, remembered once seen."""

    def __init__(self, blobs: BlobStore):
        self._blobs = blobs
        self._present: Recent[str, bool] = Recent()

    def present(self, object_name: str) -> bool:
        if self._present.get(object_name):
            return True
        found = self._blobs.exists(object_name)
        if found:
            self._present.put(object_name, True)
        return found
