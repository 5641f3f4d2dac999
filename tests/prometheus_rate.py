"""Prometheus's rate() over a range, as promql/functions.go's extrapolatedRate computes it.

A test helper: the backfill's sample spacing decides what a long window's rate() sees, and
this is the arithmetic Prometheus applies to it (extrapolation to the range's edges only
when the nearest sample is within 1.1 average intervals of the edge, else half of one; a
counter is never extrapolated below zero).
"""

from __future__ import annotations

from collections.abc import Sequence


def extrapolated_rate(samples: Sequence[tuple[float, float]], at: float, window: float) -> float:
    """rate(x[window]) evaluated at ``at`` over counter samples ``(time, value)``, no resets."""
    start = at - window
    inside = [(t, v) for t, v in samples if start < t <= at]
    if len(inside) < 2:
        raise ValueError(f"rate() needs two samples in ({start}, {at}], got {len(inside)}")
    (t0, v0), (t1, v1) = inside[0], inside[-1]
    sampled = t1 - t0
    average = sampled / (len(inside) - 1)
    threshold = average * 1.1
    to_start, to_end = t0 - start, at - t1
    if v1 > v0 and v0 >= 0:
        to_start = min(to_start, sampled * v0 / (v1 - v0))  # never before the counter was 0
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return (v1 - v0) * interval / sampled / window
