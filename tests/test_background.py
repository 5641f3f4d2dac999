"""The background thread every traffic adapter runs its load in."""

from __future__ import annotations

import threading

import pytest

from sloverify._exceptions import HarnessError
from sloverify.adapters.background import BackgroundLoad


class _Counting(BackgroundLoad):
    def __init__(self, fail: bool = False) -> None:
        super().__init__("test-load", join_timeout=5.0)
        self.runs = 0
        self.fail = fail

    def _work(self, stop: threading.Event) -> None:
        self.runs += 1
        if self.fail:
            raise HarnessError("locust exited with 1")
        stop.wait(5.0)


def test_a_second_start_while_it_runs_starts_nothing_and_stop_ends_it() -> None:
    load = _Counting()
    load.start()
    load.start()
    load.stop()
    assert load.runs == 1
    assert load._thread is not None and not load._thread.is_alive()


def test_what_broke_the_load_is_raised_by_stop_in_the_callers_thread() -> None:
    load = _Counting(fail=True)
    load.start()
    with pytest.raises(HarnessError, match="locust exited"):
        load.stop()
