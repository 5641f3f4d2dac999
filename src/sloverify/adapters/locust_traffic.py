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
from sloverify.adapters.loadstats import LoadResult, Shape
from sloverify.adapters.locust import SCENARIOS, LoadOptions, run_load
from sloverify.adapters.tools import Tools


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
        super().__init__("sloverify-locust", join_timeout=60.0)  # locust writes its stats

    def _work(self, stop: threading.Event) -> None:
        self.result = run_load(self.options, self.tools, stop=stop)
