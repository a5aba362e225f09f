"""How the chat front ends tell this process's ingest worker that new work is queued.

The front ends ring it after they enqueue (and after someone links); the worker's threads wait
on it between polls. It exists before the worker does, so the front ends and the worker can be
built in either order.
"""

from __future__ import annotations

import threading


class Doorbell:
    def __init__(self) -> None:
        self._rings = 0
        self._changed = threading.Condition()

    def ring(self) -> None:
        with self._changed:
            self._rings += 1
            self._changed.notify_all()

    def rings(self) -> int:
        """A count to pass to `wait`: a ring after it is not missed."""
        with self._changed:
            return self._rings

    def wait(self, seen: int, timeout: float) -> None:
        """Until the bell rings after `seen` was read, or `timeout` seconds."""
        with self._changed:
            if self._rings == seen:
                self._changed.wait(timeout)
