"""When an alert fires and resets under a step fault: the SRE Workbook's arithmetic (chapter 5).

For error ratio ``e`` and a window ``W`` with threshold ``t`` (= factor * budget), the window's
average reaches ``t`` after ``W * t / e``, and after the fault ends it drops back below ``t``
after ``W * (1 - t / e)``. An SLI whose range is fixed in its query (``[R]``) ramps up over
``R`` before the window sees it; :func:`window_average` models that exactly (a ramp convolved
with the window), and the times are found by bisection on the monotone average.

All times are seconds at real time scale, measured from the start (or end) of the fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sloverify.rules.alerts import Condition, ResolvedAlert
from sloverify.spec import Op

_BISECT_STEPS = 200
_PEAK_STEPS = 20


@dataclass(frozen=True)
class Fault:
    """A step fault: error ratio ``error_ratio`` for ``duration`` seconds (None: until saturated)."""

    error_ratio: float
    duration: float | None = None
    baseline: float = 0.0


def _ramp_integral(x: float, ramp: float) -> float:
    # Integral from -inf to x of the SLI's response to a unit step at 0 (a ramp of length `ramp`).
    if x <= 0:
        return 0.0
    if ramp <= 0 or x >= ramp:
        return x - ramp / 2 if ramp > 0 else x
    return x * x / (2 * ramp)


def window_average(t: float, window: float, fault: Fault, ramp: float = 0.0) -> float:
    """The error ratio averaged over ``[t - window, t]``; the fault starts at 0."""
    on = _ramp_integral(t, ramp) - _ramp_integral(t - window, ramp)
    if fault.duration is not None:
        end = fault.duration
        on -= _ramp_integral(t - end, ramp) - _ramp_integral(t - end - window, ramp)
    share = on / window
    return fault.baseline + (fault.error_ratio - fault.baseline) * share


def _bisect(lo: float, hi: float, holds_at: Callable[[float], bool], first_true: bool) -> float:
    # holds_at is monotone on [lo, hi]: find where it switches (to true, or to false).
    for _ in range(_BISECT_STEPS):
        mid = (lo + hi) / 2
        if holds_at(mid) == first_true:
            hi = mid
        else:
            lo = mid
    return hi


def window_detection(
    window: float, threshold: float, fault: Fault, ramp: float = 0.0, op: Op = Op.GT
) -> float | None:
    """Seconds after a sustained fault starts until the window crosses ``threshold``; None: never."""
    if not op.holds(fault.error_ratio, threshold):
        return None
    if op.holds(fault.baseline, threshold):
        return 0.0
    sustained = Fault(fault.error_ratio, None, fault.baseline)
    return _bisect(
        0.0,
        window + ramp,
        lambda t: op.holds(window_average(t, window, sustained, ramp), threshold),
        first_true=True,
    )


def window_reset(
    window: float, threshold: float, fault: Fault, ramp: float = 0.0, op: Op = Op.GT
) -> float:
    """Seconds after the fault ends until the window no longer crosses ``threshold``.

    0 if the window was not over the threshold when the fault ended.
    """
    duration = fault.duration if fault.duration is not None else window + ramp
    f = Fault(fault.error_ratio, duration, fault.baseline)
    if not op.holds(window_average(duration, window, f, ramp), threshold):
        return 0.0
    end = _bisect(
        duration,
        duration + window + ramp,
        lambda t: op.holds(window_average(t, window, f, ramp), threshold),
        first_true=False,
    )
    return end - duration


@dataclass(frozen=True)
class Timing:
    """Predicted detection (including ``for``) and reset of one alert under one fault."""

    fires_after: float | None
    resets_after: float | None


def condition_detection(cond: Condition, fault: Fault, ramp: float = 0.0) -> float | None:
    """When every window of a condition holds at once: the slowest window decides."""
    times = [
        window_detection(w.seconds, cond.threshold, fault, ramp, cond.op) for w in cond.windows
    ]
    return None if any(t is None for t in times) else max(t for t in times if t is not None)


def condition_reset(cond: Condition, fault: Fault, ramp: float = 0.0) -> float:
    """When a held condition stops holding: the first window to drop decides."""
    return min(window_reset(w.seconds, cond.threshold, fault, ramp, cond.op) for w in cond.windows)


def alert_timing(alert: ResolvedAlert, fault: Fault, ramp: float = 0.0) -> Timing:
    """Detection and reset of an alert (an OR of conditions) under a fault.

    For a query alert the query is opaque: it fires ``for`` after the query crosses and
    resolves as soon as it stops; neither depends on an error ratio, so both are None.
    """
    if alert.query is not None:
        return Timing(None, None)
    detections = [(c, condition_detection(c, fault, ramp)) for c in alert.conditions]
    fired = [(c, t) for c, t in detections if t is not None]
    if not fired:
        return Timing(None, None)
    first = min(t for _, t in fired)
    end = fault.duration
    active = [c for c, t in fired if end is None or t <= end]
    reset = max((condition_reset(c, fault, ramp) for c in active), default=0.0)
    return Timing(first + alert.for_.seconds, reset)


def peak_share(alert: ResolvedAlert, fault: Fault, ramp: float = 0.0) -> float | None:
    """How near a fault brings an alert to firing: 1.0 is its threshold; None for a query alert.

    Per condition, the window that stays lowest decides (all must hold); the alert is as near
    as its nearest condition. Each window peaks between the fault's end and one ramp later, so
    a 5m window of a long fault gives ``e / threshold`` and a 30d budget window the budget the
    fault consumed over the share that fires it.
    """
    if alert.query is not None or not alert.conditions:
        return None
    duration = fault.duration if fault.duration is not None else max(alert.windows).seconds
    f = Fault(fault.error_ratio, duration, fault.baseline)
    times = [duration + ramp * i / _PEAK_STEPS for i in range(_PEAK_STEPS + 1)]

    def peak(window: float) -> float:
        return max(window_average(t, window, f, ramp) for t in times)

    return max(
        min(peak(w.seconds) for w in c.windows) / c.threshold if c.threshold > 0 else math.inf
        for c in alert.conditions
    )


def budget_consumed(error_ratio: float, seconds: float, budget: float, period: float) -> float:
    """Share of the period's error budget that ``seconds`` at ``error_ratio`` consume."""
    return error_ratio * seconds / (budget * period)


def never_fires(cond: Condition) -> bool:
    """True when no error ratio (at most 1, a total outage) can make the condition hold."""
    return not cond.op.holds(1.0, cond.threshold) or (
        cond.op is Op.GT and math.isclose(cond.threshold, 1.0)
    )
