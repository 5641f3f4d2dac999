"""Warm-up by backfill: the history's shape, and for real, a 30d window full at once."""

from __future__ import annotations

import itertools
import time

import pytest

from sloverify.adapters.backfill import (
    MAX_GAPS,
    SeriesHistory,
    backfill_plan,
    histories,
    is_counter,
    openmetrics,
    sample_times,
    slow_free,
)
from sloverify.adapters.prometheus import Sample, finite
from sloverify.adapters.runtime.stackrun import StackRun
from tests import prometheus_rate
from tests.conftest import DATA
from tests.stack_support import drive, stack_fixture

run = stack_fixture(DATA / "stacks" / "demo" / "stack.yaml")


def test_sample_times_are_dense_near_the_end_and_reach_the_start() -> None:
    times = sample_times(end=43200.0, span=43200.0, first_gap=0.25)  # 30d at k=60
    assert times[0] == 0.0 and times[-1] == 43200.0
    assert times == sorted(times)
    assert times[-1] - times[-2] == 0.25  # a scrape's gap near now
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= 43200.0 / MAX_GAPS + 1e-9  # no gap a large share of a long window
    assert len(times) < 1200  # and a bounded number of samples over the whole span


def test_counters_get_their_rate_and_gauges_their_value() -> None:
    now = [
        Sample({"__name__": "req_total", "job": "a"}, 130.0),
        Sample({"__name__": "lag", "job": "a"}, 7.0),
        Sample({"__name__": "req_created", "job": "a"}, 1e9),
        Sample({"__name__": "ALERTS", "job": "a"}, 1.0),
        Sample({"__name__": "slo:sli_error:ratio_rate5m"}, 0.01),
        Sample({"__name__": "new_total", "job": "a"}, 50.0),  # born during the baseline
    ]
    before = [Sample({"__name__": "req_total", "job": "a"}, 100.0)]
    got = {h.labels["__name__"]: h for h in histories(now, before, seconds=10.0)}
    assert set(got) == {"req_total", "lag", "slo:sli_error:ratio_rate5m"}
    assert got["req_total"].counter and got["req_total"].value == 3.0
    assert not got["lag"].counter and got["lag"].value == 7.0
    assert not is_counter("slo:sli_error:ratio_total")  # recorded rules are gauges


def test_averaged_recordings_are_written_at_the_evaluation_interval() -> None:
    # avg_over_time counts samples, not time: sparse old samples would outweigh live ones.
    base = SeriesHistory({"__name__": "slo:sli_error:ratio_base", "sloth_id": "x"}, False, 0.0)
    raw = SeriesHistory({"__name__": "x_total"}, True, 1.0)
    plan = backfill_plan([base, raw], end=4000.0, span=3600.0, first_gap=0.25, evaluation=0.5)
    assert plan.averaged == [400.0 + 0.5 * i for i in range(7201)]
    lines = list(openmetrics([base, raw], plan.times, plan.averaged))
    assert sum(line.startswith("slo:") for line in lines) == 7201
    assert sum(line.startswith("x_total") for line in lines) == len(plan.times) < 1200
    assert plan.samples == 7201 + len(plan.times)


def _bucket(le: str, rate: float, path: str = "/a", name: str = "h") -> SeriesHistory:
    return SeriesHistory({"__name__": f"{name}_bucket", "path": path, "le": le}, True, rate)


def test_latency_history_is_slow_free_at_and_above_the_threshold() -> None:
    # A baseline where 2 of 10 requests per second were slower than 0.2 s, on two paths.
    series = [
        _bucket("0.1", 5.0),
        _bucket("0.2", 8.0),
        _bucket("0.3", 9.0),
        _bucket("+Inf", 10.0),
        SeriesHistory({"__name__": "h_count", "path": "/a"}, True, 10.0),
        _bucket("0.2", 1.0, path="/b"),
        SeriesHistory({"__name__": "h_count", "path": "/b"}, True, 4.0),
        _bucket("0.2", 1.0, name="other"),  # a histogram no SLO reads: as measured
        SeriesHistory({"__name__": "other_count", "path": "/a"}, True, 4.0),
    ]
    got = {
        (s.labels["__name__"], s.labels["path"], s.labels.get("le")): s.value
        for s in slow_free(series, {"h": 0.2})
    }
    assert got[("h_bucket", "/a", "0.1")] == 5.0  # below the threshold: as measured
    assert [got[("h_bucket", "/a", le)] for le in ("0.2", "0.3", "+Inf")] == [10.0] * 3
    assert got[("h_bucket", "/b", "0.2")] == 4.0  # each label set against its own count
    assert got[("other_bucket", "/a", "0.2")] == 1.0
    assert slow_free(series, {}) == series


def test_openmetrics_grows_counters_from_zero_and_ends_with_eof() -> None:
    series = [SeriesHistory({"__name__": "x_total", "path": 'a"b'}, True, 2.0)]
    lines = list(openmetrics(series, [10.0, 15.0, 20.0]))
    assert lines == [
        'x_total{path="a\\"b"} 0 10.000\n',
        'x_total{path="a\\"b"} 10 15.000\n',
        'x_total{path="a\\"b"} 20 20.000\n',
        "# EOF\n",
    ]


def test_a_long_history_keeps_the_last_seconds_increments() -> None:
    # 100 requests/s over 72 h (30d at k=10) reach 2.6e7: the last 0.25 s adds 25 requests.
    series = [SeriesHistory({"__name__": "x_total"}, True, 100.0)]
    end = 72 * 3600.0
    lines = list(openmetrics(series, [0.0, end - 0.25, end]))
    values = [float(line.split()[1]) for line in lines[:-1]]
    assert values[2] - values[1] == pytest.approx(25.0)


def test_a_warm_up_fills_a_30d_window_at_once(run: StackRun) -> None:
    drive(run.url("demo-api"), ["/answer"], seconds=1.0, max_requests=20)  # series exist
    time.sleep(1.0)
    codes = drive(run.url("demo-api"), ["/answer"], seconds=3.0, max_requests=300)
    assert set(codes) == {200}
    rate_query = 'sum(rate(http_requests_total{service="demo-api",path="/answer"}[3s]))'
    live_rate = run.prometheus.query(rate_query)[0].value
    # 30 days, 12 real hours at k=60; a latency SLO's histogram at 5 ms, which some requests
    # of the baseline may exceed: the history has none over it.
    done = run.warm_up(30 * 86400, 3.0, latency={"http_request_duration_seconds": 0.005})
    assert done.series > 10 and done.span == 30 * 86400 / 60
    # A 30-day window (12 real hours) now holds that much history: an increase over 11h at
    # about the baseline rate, and dozens of samples per series.
    past = run.prometheus.query(
        'sum(increase(http_requests_total{service="demo-api",path="/answer"}[11h] offset 5m))'
    )
    assert past and 0.5 * live_rate * 11 * 3600 < past[0].value < 1.5 * live_rate * 11 * 3600
    count = run.prometheus.query(
        'max(count_over_time(http_requests_total{service="demo-api",path="/answer"}[11h]))'
    )
    assert count and count[0].value > 50
    sel = 'service="demo-api",path="/answer"'
    fast, every = (
        run.prometheus.query(f"sum(increase(http_request_duration_seconds_{m}[11h] offset 5m))")
        for m in (f'bucket{{{sel},le="0.005"}}', f"count{{{sel}}}")
    )
    assert fast and every and fast[0].value == pytest.approx(every[0].value, rel=1e-6)
    # rate() over the long window counts all of it: the increase it extrapolates agrees with
    # the counter's own difference across the window (each within a 60 s gap of 11 hours).
    # Geometric gaps of 6% once read 3.6% short.
    near, far = (
        run.prometheus.query(f"sum(last_over_time(http_requests_total{{{sel}}}[2m] offset {o}))")
        for o in ("5m", "11h5m")
    )
    assert near and far, "no history sample within 2 minutes of 11 hours back"
    assert past[0].value == pytest.approx(near[0].value - far[0].value, rel=0.01)
    # Live scraping goes on after the restart, and alert state started empty.
    drive(run.url("demo-api"), ["/answer"], seconds=1.0, max_requests=20)
    fresh = run.prometheus.wait_for(
        'time() - max(timestamp(http_requests_total{service="demo-api"}))',
        lambda s: bool(finite(s)) and s[0].value < 2,
        timeout=20,
    )
    assert fresh and fresh[0].value < 2
    assert not run.prometheus.query("ALERTS_FOR_STATE offset 1h")


@pytest.mark.parametrize("window_days", [1 / 24, 1 / 4, 1.0, 3.0, 7.0, 30.0])
def test_rate_over_the_history_counts_every_window_in_full(window_days: float) -> None:
    # Live, the 7d window over a backfilled history read 3.6% under the baseline's rate, so
    # budget alerts fired about 4% early: rate() extrapolates to a window's far edge only
    # when the sample nearest it is within 1.1 average gaps, and geometric gaps far back are
    # many times the average. 30d of history at k=60, a 0.25 s first gap.
    span, rate = 30 * 86400 / 60, 40.0
    times = sample_times(end=span, span=span, first_gap=0.25)
    samples = [(t, rate * t) for t in times]
    window = window_days * 86400 / 60
    got = prometheus_rate.extrapolated_rate(samples, span, window)
    assert got == pytest.approx(rate, rel=0.01)
