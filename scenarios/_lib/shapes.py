"""The four load shapes, as locust LoadTestShape classes; each ends, so every run is bounded.

- load: ramp to the peak users over the first tenth, then hold the peak;
- spike: a fifth of the peak, the whole peak at once for the middle fifth, back down;
- stress: steps of users up to the peak; after each step the step's failure ratio and p95
  are checked, and the first step over a limit ends the run. The capacity found is the last
  step that held: its users and its achieved request rate (written to SLOVERIFY_RESULT_FILE);
- endurance: the load shape held for a soak's length (sloverify gives it a longer base).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from locust import LoadTestShape

from _lib.config import Config, config


class _Shape(LoadTestShape):
    abstract = True

    @property
    def cfg(self) -> Config:
        return config()

    def tick(self) -> tuple[int, float] | None:
        return None

    def stopped(self) -> bool:
        """Whether sloverify asked the run to end early (a chaos experiment ended)."""
        stop = self.cfg.stop_file
        return bool(stop) and os.path.exists(stop)


class LoadShape(_Shape):
    """Steady peak: ramp over the first tenth of the run, then hold."""

    def tick(self) -> tuple[int, float] | None:
        c, t = self.cfg, self.get_run_time()
        if t >= c.seconds or self.stopped():
            return None
        ramp = c.ramp_seconds if c.ramp_seconds is not None else 0.1 * c.seconds
        return c.users, max(1.0, c.users / max(ramp, 0.1))


class EnduranceShape(LoadShape):
    """A soak: the steady peak for a long time (the base length sloverify gives it)."""


class SpikeShape(_Shape):
    """A fifth of the peak, then the whole peak at once for the middle fifth, then back."""

    def tick(self) -> tuple[int, float] | None:
        c, t = self.cfg, self.get_run_time()
        if t >= c.seconds or self.stopped():
            return None
        base = max(1, c.users // 5)
        if 0.4 * c.seconds <= t < 0.6 * c.seconds:
            return c.users, float(max(c.users, 1))  # all at once: that is the spike
        return base, float(max(c.users, 1))


class StressShape(_Shape):
    """Step up until a step breaks the limits; the last step that held is the capacity."""

    def __init__(self) -> None:
        super().__init__()
        self.step = 0
        self.steps: list[dict[str, Any]] = []
        self.mark: tuple[int, int, dict[int, int]] | None = None
        self.mark_time = 0.0
        self.finished = False

    def users_at(self, step: int) -> int:
        """Users of a step: equal increments up to the peak."""
        c = self.cfg
        return max(1, math.ceil(c.users * (step + 1) / c.stress_steps))

    def tick(self) -> tuple[int, float] | None:
        c, t = self.cfg, self.get_run_time()
        if self.finished or self.stopped():
            return None
        length = c.seconds / c.stress_steps
        step = int(t // length)
        if self.mark is None:
            self._snapshot(t)
        if step != self.step:
            held = self._judge(t)
            if not held or step >= c.stress_steps:
                self._finish(broke=not held)
                return None
            self.step = step
        return self.users_at(self.step), float(max(1, self.users_at(0)))

    def _snapshot(self, t: float) -> None:
        total = self.runner.stats.total  # type: ignore[union-attr]
        self.mark = (total.num_requests, total.num_failures, dict(total.response_times))
        self.mark_time = t

    def _judge(self, t: float) -> bool:
        # The step just ended: its own requests, failures and p95 (differences of totals).
        total = self.runner.stats.total  # type: ignore[union-attr]
        assert self.mark is not None
        requests = total.num_requests - self.mark[0]
        failures = total.num_failures - self.mark[1]
        times = {
            ms: n - self.mark[2].get(ms, 0)
            for ms, n in total.response_times.items()
            if n - self.mark[2].get(ms, 0) > 0
        }
        p95 = _percentile(times, 0.95)
        ratio = failures / requests if requests else 1.0
        c = self.cfg
        held = requests > 0 and ratio <= c.max_failure_ratio and p95 <= c.max_p95_ms
        self.steps.append(
            {
                "users": self.users_at(self.step),
                "requests": requests,
                "failures": failures,
                "rps": requests / max(t - self.mark_time, 1e-9),
                "failure_ratio": ratio,
                "p95_ms": p95,
                "held": held,
            }
        )
        self._snapshot(t)
        return held

    def _finish(self, broke: bool) -> None:
        self.finished = True
        held = [s for s in self.steps if s["held"]]
        last = self.steps[-1] if self.steps else None
        reason = ""
        if broke and last is not None:
            c = self.cfg
            reason = (
                "no requests in the step"
                if not last["requests"]
                else f"failure ratio {last['failure_ratio']:.4f} > {c.max_failure_ratio}"
                if last["failure_ratio"] > c.max_failure_ratio
                else f"p95 {last['p95_ms']:.0f} ms > {c.max_p95_ms:.0f} ms"
            )
        result = {
            "breached": broke,
            "reason": reason,
            "capacity_users": held[-1]["users"] if held else 0,
            "capacity_rps": held[-1]["rps"] if held else 0.0,
            "steps": self.steps,
        }
        if self.cfg.result_file:
            with open(self.cfg.result_file, "w", encoding="utf-8") as f:
                json.dump(result, f)


def _percentile(times: dict[int, int], q: float) -> float:
    count = sum(times.values())
    if not count:
        return 0.0
    seen = 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= q * count:
            return float(ms)
    return float(max(times))


SHAPES: dict[str, type[LoadTestShape]] = {
    "load": LoadShape,
    "spike": SpikeShape,
    "stress": StressShape,
    "endurance": EnduranceShape,
}


def selected_shape() -> type[LoadTestShape]:
    """The shape class this run asked for (SLOVERIFY_SHAPE)."""
    return SHAPES[config().shape]
