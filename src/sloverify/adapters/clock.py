"""Clocks for the engine: the wall clock (the one Prometheus and the webhook stamp with) and a fake."""

from __future__ import annotations

import time


class SystemClock:
    """Wall-clock seconds since the epoch; sleeps really."""

    def now(self) -> float:
        """The current time."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep (never negative)."""
        time.sleep(max(seconds, 0.0))


class FakeClock:
    """A clock that only moves when slept on, so engine runs take no time."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        """The current fake time."""
        return self.t

    def sleep(self, seconds: float) -> None:
        """Advance the fake time (at least a microsecond, so loops always progress)."""
        self.t += max(seconds, 1e-6)
