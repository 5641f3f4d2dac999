"""Warm-up by backfill: write a healthy history into Prometheus's storage instead of waiting.

An alert over a 30d period at time scale 60 needs 12 real hours of history before it means
anything; waiting for it would dominate every run's time to verdict. Instead, after a short
healthy baseline, every series the stack exposes is extended backwards over the history
span: counters at the rate the baseline measured, gauges (and recorded rules) at their
baseline value. The history goes into OpenMetrics text, ``promtool tsdb
create-blocks-from openmetrics`` turns it into blocks in Prometheus's data folder while
Prometheus is stopped, and Prometheus starts again with the history in place.

Samples are spaced geometrically back from the end (each gap ``GROWTH`` times the last, up to
a cap), so a short window near now holds as many points as a scrape would give it while a
30d window still costs only about a thousand samples per series. The exception is what the rules average
with ``avg_over_time`` (a base SLI's recorded ratio): that average counts samples, not time,
so its history is written at the evaluation interval, like the live samples that follow it.

Latency histograms are written slow-free (see ``slow_free``): healthy history has no request
over an SLO's threshold, whatever the few seconds of baseline happened to contain.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sloverify._exceptions import ToolFailed
from sloverify.adapters.prometheus import PrometheusClient, Sample
from sloverify.adapters.tools import Tool, Tools

# Gaps grow by 1% going back, up to span / MAX_GAPS: rate() over a window extrapolates to
# its far edge only when the sample nearest that edge is within 1.1 average gaps of it, and
# the average over a window is set by the dense samples near now. Where the far gap is a
# large share of the window, rate() undercounts by about half of it: at 6% growth a 7d
# window read 3.6% short and budget alerts fired ~4% early. 1% keeps every window within
# about half a percent, at some 1,200 samples a series for 30d of history.
GROWTH = 1.01
MAX_GAPS = 720
# Not history: Prometheus's own bookkeeping, and alert state, which must start empty.
_SKIP_NAMES = ("ALERTS", "ALERTS_FOR_STATE", "up", "scrape_")
_SKIP_JOBS = ("prometheus", "alertmanager")
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
# Recorded series the rules read with avg_over_time: sampled uniformly (see above).
AVERAGED = "slo:sli_error:ratio_base"


@dataclass(frozen=True)
class SeriesHistory:
    """One series to extend backwards: a counter's rate per second, or a gauge's value."""

    labels: Mapping[str, str]  # including __name__
    counter: bool
    value: float  # the gauge's value, or the counter's rate per second


@dataclass(frozen=True)
class Backfilled:
    """What a warm-up wrote: how many series and samples, over which span (real seconds)."""

    series: int
    samples: int
    span: float
    end: float


def sample_times(end: float, span: float, first_gap: float) -> list[float]:
    """Times from ``end - span`` up to ``end``, gaps growing by GROWTH going back from the end.

    No gap is longer than ``span / MAX_GAPS``.
    """
    times, gap, t, widest = [end], first_gap, end, max(first_gap, span / MAX_GAPS)
    while t - gap > end - span:
        t -= gap
        times.append(t)
        gap = min(gap * GROWTH, widest)
    times.append(end - span)
    return sorted(set(times))


def is_counter(name: str) -> bool:
    """Whether a series name is a counter's (or a histogram's counters); recorded rules are not."""
    return ":" not in name and name.endswith(_COUNTER_SUFFIXES)


def histories(
    now: Sequence[Sample], before: Sequence[Sample], seconds: float
) -> list[SeriesHistory]:
    """Pair each series' value now with its value ``seconds`` earlier: rates and gauges."""
    earlier = {_key(s.labels): s.value for s in before}
    out = []
    for s in now:
        name = s.labels.get("__name__", "")
        if not name or name.startswith(_SKIP_NAMES) or name.endswith("_created"):
            continue
        if s.labels.get("job") in _SKIP_JOBS or not math.isfinite(s.value):
            continue
        if is_counter(name):
            old = earlier.get(_key(s.labels))
            if old is None:
                continue  # born during the baseline: its rate since birth is unknown
            grown = s.value - old if s.value >= old else s.value  # a reset: count from zero
            out.append(SeriesHistory(s.labels, True, max(0.0, grown) / seconds))
        else:
            out.append(SeriesHistory(s.labels, False, s.value))
    return out


def slow_free(
    series: Sequence[SeriesHistory], thresholds: Mapping[str, float]
) -> list[SeriesHistory]:
    """The history with no request slower than its SLO's threshold, per latency histogram.

    ``thresholds`` maps a histogram's base name to the smallest latency threshold an SLO
    puts on it. Every bucket at or above it counts every request (its ``_count`` rate), so
    the history holds no slow request. A few seconds of baseline are no estimate of a 30-day
    tail: one cold-start request over 0.2 s in 40, extended over 30 days, is a 2.5% slow
    ratio, and a 0.025% budget-consumed alert fires before any fault.
    """
    counts = {
        _key({**s.labels, "__name__": s.labels["__name__"].removesuffix("_count")}): s.value
        for s in series
        if s.counter and s.labels["__name__"].removesuffix("_count") in thresholds
    }
    out = []
    for s in series:
        name = s.labels["__name__"]
        base = name.removesuffix("_bucket")
        threshold = thresholds.get(base) if name.endswith("_bucket") else None
        if threshold is not None and _at_or_above(s.labels.get("le", ""), threshold):
            rest = {k: v for k, v in s.labels.items() if k != "le"}
            count = counts.get(_key({**rest, "__name__": base}))
            if count is not None:
                s = SeriesHistory(s.labels, True, count)
        out.append(s)
    return out


def _at_or_above(le: str, threshold: float) -> bool:
    try:
        bound = float(le)  # "+Inf" parses too
    except ValueError:
        return False
    return bound >= threshold or math.isclose(bound, threshold, rel_tol=1e-9)


def uniform_times(end: float, span: float, step: float) -> list[float]:
    """Times ``step`` apart from ``end - span`` to ``end``."""
    n = int(span / step)
    return [end - (n - i) * step for i in range(n + 1)]


def openmetrics(
    series: Sequence[SeriesHistory], times: Sequence[float], averaged: Sequence[float] = ()
) -> Iterator[str]:
    """The history as OpenMetrics lines, grouped by metric family, ending with ``# EOF``.

    ``averaged`` are the (uniform) times for the series the rules average, if any.
    """
    start = times[0]
    by_name: dict[str, list[SeriesHistory]] = {}
    for s in series:
        by_name.setdefault(s.labels["__name__"], []).append(s)
    for name in sorted(by_name):
        for s in by_name[name]:
            labels = ",".join(
                f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()) if k != "__name__"
            )
            head = f"{name}{{{labels}}}" if labels else name
            for t in averaged if (averaged and name == AVERAGED) else times:
                value = s.value * (t - start) if s.counter else s.value
                # 15 digits, not 6: a counter grown over 72 h reaches 10^7, and 6 digits
                # would round the last seconds' increments (the short windows) to hundreds.
                yield f"{head} {value:.15g} {t:.3f}\n"
    yield "# EOF\n"


def write_blocks(text: Iterator[str], data_dir: Path, tools: Tools) -> None:
    """Run ``promtool tsdb create-blocks-from openmetrics`` into Prometheus's data folder."""
    promtool = str(tools.get(Tool.PROMTOOL))
    with tempfile.NamedTemporaryFile("w", suffix=".om", dir=data_dir.parent, delete=True) as f:
        f.writelines(text)
        f.flush()
        command = [promtool, "tsdb", "create-blocks-from", "openmetrics", f.name, str(data_dir)]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise ToolFailed(command, proc.stdout + proc.stderr)


def measure(
    prometheus: PrometheusClient, jobs: Sequence[str], seconds: float
) -> list[SeriesHistory]:
    """Every series of ``jobs``, and every recorded SLO series, now and ``seconds`` ago."""
    selectors = ['{__name__=~".+",job=~"%s"}' % "|".join(jobs), '{__name__=~"slo:.+"}']  # noqa: UP031
    now = time.time()
    out: list[SeriesHistory] = []
    for selector in selectors:
        out += histories(
            prometheus.query(selector, now), prometheus.query(selector, now - seconds), seconds
        )
    return out


@dataclass(frozen=True)
class BackfillPlan:
    """When a backfill writes samples: geometric times, and uniform ones for averaged series."""

    times: list[float]
    averaged: list[float]
    samples: int


def backfill_plan(
    series: Sequence[SeriesHistory], end: float, span: float, first_gap: float, evaluation: float
) -> BackfillPlan:
    """The sample times of a backfill of ``series``, and how many samples it writes."""
    times = sample_times(end, span, first_gap)
    averaged = uniform_times(end, span, evaluation)
    n_avg = sum(1 for s in series if s.labels.get("__name__") == AVERAGED)
    samples = len(times) * (len(series) - n_avg) + len(averaged) * n_avg
    return BackfillPlan(times, averaged, samples)


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
