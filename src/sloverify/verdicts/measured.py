"""The fault as the signal showed it: its error ratio and its error bar, the baseline before it,
its onset and rise."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sloverify.verdicts.deadlines import steady_mean
from sloverify.verdicts.model import Observations, Point
from sloverify.verdicts.plan import Plan, SLOTarget


@dataclass(frozen=True)
class Measured:
    """The error ratio measured during the fault (steady part), and just before it."""

    query: str
    error_ratio: float | None
    baseline: float
    start: float
    end: float
    samples: int
    onset: float = 0.0  # run seconds the first errors came later than the pipeline explains
    rise: float = 0.0  # logical seconds a fixed-range SLI took to rise, when measurable
    spread: float = 0.0  # two standard errors of ``error_ratio`` (see ``_spread``)

    @property
    def low(self) -> float | None:
        """The lowest error ratio the measurement allows (never below the baseline)."""
        if self.error_ratio is None:
            return None
        return max(min(self.baseline, self.error_ratio), self.error_ratio - self.spread)

    @property
    def high(self) -> float | None:
        """The highest error ratio the measurement allows (at most 1)."""
        if self.error_ratio is None:
            return None
        return min(1.0, self.error_ratio + self.spread)


def measure(plan: Plan, target: SLOTarget, obs: Observations) -> Measured:
    """Mean of the signal once the fault shows fully, until it ends; the baseline before."""
    settle = (target.settle + plan.delays.pipeline) / float(plan.scale)
    start = obs.fault_start + settle
    points = obs.points(target.signal, start, obs.fault_end)
    before = obs.points(target.signal, obs.fault_start - settle, obs.fault_start)
    baseline = steady_mean(before, obs.fault_start - settle, obs.fault_start) or 0.0
    e = steady_mean(points, start, obs.fault_end)
    if e is None or e <= baseline:
        return Measured(target.signal, e, baseline, start, obs.fault_end, len(points))
    spread = _spread(plan, target, points, e, obs.fault_end - start)
    during = obs.points(target.signal, obs.fault_start, obs.fault_end)
    step = e - baseline
    moved = next((p.at for p in during if p.value > baseline + step / 10), None)
    full = next((p.at for p in during if p.value >= baseline + step * 0.9), None)
    onset = _onset(plan, obs, moved)
    rise = _rise(plan, target, moved, full)
    return Measured(
        target.signal, e, baseline, start, obs.fault_end, len(points), onset, rise, spread
    )


def _spread(
    plan: Plan, target: SLOTarget, points: tuple[Point, ...], e: float, span: float
) -> float:
    # The same toxicity has measured e 20% apart in two runs, and a claim near a threshold
    # (an alert due a second before the fault ends, a deadline a poll away) then flips. The
    # samples are of a sliding window, so neighbours share most of their requests: only
    # windows that do not overlap are independent, span / window of them. Two standard
    # errors of the mean over that many is the error bar; deadlines are judged at its low
    # end (the latest an alert may fire), so a noisy fault loosens them instead of failing.
    if len(points) < 2:
        return 0.0
    sd = math.sqrt(sum((p.value - e) ** 2 for p in points) / (len(points) - 1))
    independent = min(len(points), max(1.0, span * float(plan.scale) / target.settle))
    return 2 * sd / math.sqrt(independent)


def _onset(plan: Plan, obs: Observations, moved: float | None) -> float:
    # Request latencies are real seconds at any time scale: a dependency that fails by timing
    # out (ca3's MongoDB client gives up after 0.8 s) counts its first errors that late, which
    # at k=60 is most of a minute of logical time the theory's step fault does not have. The
    # deadline starts when the signal first shows a tenth of the step (``moved``), less what
    # any first sample waits for (a scrape, the recording evaluation, a poll); never before
    # the fault.
    if moved is None:
        return 0.0
    d = plan.delays
    seen = (d.scrape.seconds + d.evaluation.seconds) / float(plan.scale) + plan.tick
    return max(0.0, moved - obs.fault_start - seen)


def _rise(plan: Plan, target: SLOTarget, moved: float | None, full: float | None) -> float:
    # A fixed-range SLI ([5m]) ramps over its range under a step fault, and the theory says
    # so. Partial errors have been seen to take longer (maestro's reset bursts): the service's
    # errors themselves come in gradually. The rise from a tenth to nine tenths of the step,
    # over 0.8, is the ramp the signal showed; 0 where there is no fixed range (the signal is
    # then a window, whose own length is no ramp) or the step is not seen.
    if not target.ramp or moved is None or full is None or full <= moved:
        return 0.0
    return (full - moved) / 0.8 * float(plan.scale)
