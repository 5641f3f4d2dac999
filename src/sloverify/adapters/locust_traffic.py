"""An experiment's locust scenario as its traffic: started with the run, stopped with it.

Locust runs in its own process (``adapters/locust.py``); a thread here waits on it so the
engine's ``start``/``stop`` do not block. The load is bounded twice: by ``stop`` and by the
shape's own length, the experiment's longest possible run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

from sloverify.adapters.background import BackgroundLoad
from sloverify.adapters.loadstats import EndpointStats, LoadResult, Shape
from sloverify.adapters.locust import SCENARIOS, LoadOptions, run_load
from sloverify.adapters.tools import Tools

# Real seconds ``start`` waits at most for locust's first requests (its start-up takes 1-3 s).
FLOWING_WAIT = 30.0


def scenario_file(name: str) -> Path | None:
    """``scenarios/<name>/locustfile.py`` if it exists."""
    path = SCENARIOS / name / "locustfile.py"
    return path if path.is_file() else None


class LocustTraffic(BackgroundLoad):
    """A steady locust load (shape ``load``) in the background until stopped."""

    def __init__(
        self,
        locustfile: Path,
        targets: Mapping[str, str],
        users: int,
        scale: Fraction,
        max_seconds: float,
        out_dir: Path,
        tools: Tools,
        rate: float | None = None,
    ) -> None:
        self.options = LoadOptions(
            locustfile=locustfile,
            shape=Shape.LOAD,
            out_dir=out_dir,
            users=users,
            rate=rate,  # the users' shared pace (None: one request a second each)
            scale=scale,
            base_seconds=max_seconds * float(scale),
            targets=dict(targets),
            # Every user at once: the baseline the warm-up backfills from must be the full
            # load, not a ramp's first seconds (a tenth of a long bound is tens of seconds).
            ramp_seconds=0.0,
        )
        self.tools = tools
        self.result: LoadResult | None = None
        self._flowing = threading.Event()
        super().__init__("sloverify-locust", join_timeout=60.0)  # locust writes its stats

    def start(self) -> None:
        """Start locust and return once it sends (bounded); a second start does nothing."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._flowing.clear()
        super().start()
        # The warm-up's baseline starts when this returns: measured from locust's launch
        # instead, its rates were a third of the load's and series born in locust's start-up
        # had no history at all (a dvt outage then burnt a 30d budget in its first second).
        self._flowing.wait(FLOWING_WAIT)

    def _work(self, stop: threading.Event) -> None:
        try:
            self.result = run_load(self.options, self.tools, self._progress, stop)
        finally:
            self._flowing.set()  # a locust that ended (or broke) holds no one up

    def _progress(self, total: EndpointStats, _elapsed: float) -> None:
        if total.requests > 0:
            self._flowing.set()
