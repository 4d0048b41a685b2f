"""The local stack's API first (emulator/priority.py): other threads wait while it serves."""

from __future__ import annotations

import threading

from emulator.priority import ApiFirst


def _in_thread(api_first: ApiFirst) -> threading.Event:
    passed = threading.Event()

    def background() -> None:
        api_first.yield_to_api()
        passed.set()

    threading.Thread(target=background, daemon=True).start()
    return passed


def test_another_thread_waits_while_a_request_is_served_then_goes_on():
    api_first = ApiFirst(max_wait=10)
    with api_first.serving():
        passed = _in_thread(api_first)
        assert not passed.wait(0.2)

    assert passed.wait(5)


def test_the_serving_thread_itself_never_waits():
    api_first = ApiFirst(max_wait=60)
    passed = threading.Event()

    def serve() -> None:
        with api_first.serving():
            api_first.yield_to_api()  # its own AWS call, e.g. the SQS integration's
            passed.set()

    threading.Thread(target=serve, daemon=True).start()
    assert passed.wait(5)


def test_a_waiting_thread_goes_on_after_max_wait_so_nothing_starves():
    api_first = ApiFirst(max_wait=0.1)
    with api_first.serving():
        assert _in_thread(api_first).wait(5)
