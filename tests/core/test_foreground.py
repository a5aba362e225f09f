"""Background ingestion steps aside while requests are in flight."""

import threading
import time

from web_oauth.foreground import Foreground


def test_wait_idle_returns_at_once_when_no_request_is_in_flight():
    started = time.monotonic()
    Foreground().wait_idle(timeout=5)
    assert time.monotonic() - started < 1


def test_wait_idle_returns_when_the_last_request_ends():
    foreground = Foreground()
    entered, release, waited = threading.Event(), threading.Event(), threading.Event()

    def request():
        with foreground.request():
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=request)
    worker.start()
    entered.wait(5)
    waiter = threading.Thread(target=lambda: (foreground.wait_idle(timeout=30), waited.set()))
    waiter.start()
    assert not waited.wait(0.2)  # still blocked: a request is in flight
    release.set()
    assert waited.wait(5)
    worker.join()
    waiter.join()


def test_served_app_counts_requests_as_foreground(app, chat):
    seen = []

    @app.get("/_test/in_flight")
    def in_flight():  # type: ignore[no-untyped-def]
        seen.append(chat.foreground._in_flight)
        return "ok"

    app.test_client().get("/_test/in_flight")
    assert seen == [1] and chat.foreground._in_flight == 0


def test_wait_idle_waits_for_a_quiet_moment_after_the_last_request():
    now = [100.0]
    foreground = Foreground(quiet=0.05, clock=lambda: now[0])
    with foreground.request():
        pass  # ended at t=100.0
    waited = threading.Event()
    waiter = threading.Thread(target=lambda: (foreground.wait_idle(timeout=30), waited.set()))
    waiter.start()
    assert not waited.wait(0.2)  # the clock has not moved: not quiet yet
    now[0] = 100.06
    assert waited.wait(5)  # the waiter's timed wait wakes, sees 60 ms of quiet, and returns
    waiter.join()
