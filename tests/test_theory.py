"""The SRE Workbook's window arithmetic (chapter 5) in sloverify.rules.theory."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sloverify.rules.alerts import Condition, ResolvedAlert
from sloverify.rules.theory import (
    Fault,
    alert_timing,
    budget_consumed,
    condition_detection,
    condition_reset,
    never_fires,
    peak_share,
    window_average,
    window_detection,
    window_reset,
)
from sloverify.spec import AlertKind, Duration, Op

_D = Duration.parse

windows = st.floats(min_value=1.0, max_value=30 * 86400.0)
ratios = st.floats(min_value=1e-5, max_value=1.0)
ramps = st.floats(min_value=0.1, max_value=3600.0)


def _alert(*conditions: Condition, for_: str = "0s") -> ResolvedAlert:
    return ResolvedAlert(
        name="Test",
        kind=AlertKind.BURN_RATE,
        severity="page",
        for_=Duration(Fraction(0)) if for_ == "0s" else _D(for_),
        labels={},
        annotations={},
        conditions=conditions,
    )


# --- one window, no ramp ----------------------------------------------------------------------


@settings(deadline=None)
@given(windows, ratios, ratios)
def test_detection_without_ramp_is_window_times_threshold_over_error(
    w: float, t: float, e: float
) -> None:
    detected = window_detection(w, t, Fault(e))
    if e <= t:
        assert detected is None
    else:
        assert detected == pytest.approx(w * t / e, rel=1e-6)


@settings(deadline=None)
@given(windows, ratios, ratios, st.floats(min_value=1e-6, max_value=10.0))
def test_reset_without_ramp_is_window_times_one_minus_threshold_over_error(
    w: float, t: float, e: float, extra: float
) -> None:
    assume(e > t * (1 + 1e-6))
    duration = w * t / e * (1 + 1e-6) + extra * w
    reset = window_reset(w, t, Fault(e, duration))
    # The average's float error scales with the times involved, not with the (maybe tiny) result.
    assert reset == pytest.approx(w * (1 - t / e), rel=1e-6, abs=1e-9 * (duration + w))


@settings(deadline=None)
@given(windows, ratios, ratios, st.floats(min_value=0.0, max_value=0.999))
def test_reset_is_zero_when_the_window_never_crossed(
    w: float, t: float, e: float, share: float
) -> None:
    assume(e > t)
    duration = w * t / e * share
    assert window_reset(w, t, Fault(e, duration)) == 0.0


# --- the window average -----------------------------------------------------------------------


@settings(deadline=None)
@given(
    windows,
    st.one_of(st.just(0.0), ramps),
    ratios,
    st.floats(min_value=0.0, max_value=1.0),
    st.lists(st.floats(min_value=0.0, max_value=3.0), min_size=2, max_size=20),
)
def test_window_average_of_sustained_fault_is_monotone_and_bounded(
    w: float, ramp: float, e: float, baseline_share: float, points: list[float]
) -> None:
    baseline = e * baseline_share
    fault = Fault(e, None, baseline)
    span = w + ramp
    times = sorted(p * span for p in points)
    averages = [window_average(t, w, fault, ramp) for t in times]
    slack = 1e-9 * e
    for a in averages:
        assert baseline - slack <= a <= e + slack
    for earlier, later in pairwise(averages):
        assert later >= earlier - slack
    for t, a in zip(times, averages, strict=True):
        if t >= span:
            assert a == pytest.approx(e, rel=1e-9)


@settings(deadline=None)
@given(windows, st.one_of(st.just(0.0), ramps), ratios, st.floats(min_value=0.0, max_value=10.0))
def test_window_average_is_baseline_before_fault(
    w: float, ramp: float, e: float, before: float
) -> None:
    assert window_average(-before, w, Fault(e, None, 0.001), ramp) == 0.001


# --- ramps ------------------------------------------------------------------------------------


@settings(deadline=None)
@given(windows, ramps, ratios, ratios)
def test_ramp_delays_detection_by_at_most_the_ramp(
    w: float, ramp: float, t: float, e: float
) -> None:
    assume(e > t)
    plain = window_detection(w, t, Fault(e))
    ramped = window_detection(w, t, Fault(e), ramp)
    assert plain is not None
    assert ramped is not None
    tol = 1e-9 * (w + ramp)
    assert plain - tol <= ramped <= plain + ramp + tol


# --- the Workbook's fast-burn page ------------------------------------------------------------

_FAST = Condition((_D("1h"), _D("5m")), 14.4 * 0.001, factor=14.4, budget="0.001")
_SLOW = Condition((_D("6h"), _D("30m")), 6 * 0.001, factor=6.0, budget="0.001")


def test_workbook_fast_burn_detects_a_total_outage_in_51_84_seconds() -> None:
    fault = Fault(1.0, 600.0)
    assert window_detection(3600.0, 0.0144, fault) == pytest.approx(51.84)
    assert condition_detection(_FAST, fault) == pytest.approx(51.84)


def test_workbook_fast_burn_resets_on_the_short_window() -> None:
    fault = Fault(1.0, 600.0)
    assert window_reset(300.0, 0.0144, fault) == pytest.approx(295.68)
    assert window_reset(3600.0, 0.0144, fault) == pytest.approx(3548.16)
    assert condition_reset(_FAST, fault) == pytest.approx(295.68)


def test_budget_consumed_by_the_fast_burn_detection() -> None:
    # 51.84s of total outage against a 30d 99.9% budget (2592s) is 2% of the budget: the
    # Workbook's figure for the 1h/14.4x alert (14.4 * 1h / 30d).
    assert budget_consumed(1.0, 51.84, 0.001, 30 * 86400) == pytest.approx(0.02)
    assert budget_consumed(14.4 * 0.001, 3600, 0.001, 30 * 86400) == pytest.approx(0.02)


# --- alerts: an OR of conditions --------------------------------------------------------------


def test_or_of_conditions_detects_at_the_first_and_resets_at_the_last() -> None:
    fault = Fault(1.0, 7200.0)
    timing = alert_timing(_alert(_FAST, _SLOW), fault)
    assert condition_detection(_SLOW, fault) == pytest.approx(129.6)
    assert condition_reset(_SLOW, fault) == pytest.approx(1789.2)
    assert timing.fires_after == pytest.approx(51.84)
    assert timing.resets_after == pytest.approx(1789.2)


def test_condition_that_fires_after_the_fault_ends_does_not_count_for_reset() -> None:
    fault = Fault(1.0, 100.0)  # the slow condition would need 129.6s
    timing = alert_timing(_alert(_SLOW, _FAST), fault)
    assert timing.fires_after == pytest.approx(51.84)
    assert timing.resets_after == pytest.approx(295.68)


def test_for_clause_delays_firing_only() -> None:
    fault = Fault(1.0, 600.0)
    timing = alert_timing(_alert(_FAST, for_="2m"), fault)
    assert timing.fires_after == pytest.approx(51.84 + 120)
    assert timing.resets_after == pytest.approx(295.68)


def test_alert_that_never_fires_has_no_timing() -> None:
    timing = alert_timing(_alert(_FAST, _SLOW), Fault(0.005, 600.0))
    assert timing.fires_after is None
    assert timing.resets_after is None


_window_durations = st.sampled_from(["1m", "5m", "30m", "1h", "2h", "6h", "1d", "3d"]).map(_D)
_conditions = st.builds(
    lambda ws, threshold: Condition(tuple(sorted(ws, reverse=True)), threshold),
    st.lists(_window_durations, min_size=1, max_size=2, unique=True),
    st.floats(min_value=1e-4, max_value=0.5),
)


@settings(deadline=None)
@given(
    st.lists(_conditions, min_size=1, max_size=4),
    ratios,
    st.one_of(st.none(), st.floats(min_value=1.0, max_value=7 * 86400.0)),
)
def test_or_of_conditions_min_detection_max_reset(
    conditions: list[Condition], e: float, duration: float | None
) -> None:
    fault = Fault(e, duration)
    timing = alert_timing(_alert(*conditions), fault)
    detections = [condition_detection(c, fault) for c in conditions]
    fired = [(c, t) for c, t in zip(conditions, detections, strict=True) if t is not None]
    if not fired:
        assert timing.fires_after is None
        assert timing.resets_after is None
        return
    assert timing.fires_after == min(t for _, t in fired)
    active = [c for c, t in fired if duration is None or t <= duration]
    assert timing.resets_after == max((condition_reset(c, fault) for c in active), default=0.0)


@settings(deadline=None)
@given(st.lists(_conditions, min_size=1, max_size=2, unique=True), ratios)
def test_condition_detection_is_slowest_window_and_reset_is_fastest(
    conditions: list[Condition], e: float
) -> None:
    fault = Fault(e, 86400.0 * 10)
    for c in conditions:
        times = [window_detection(w.seconds, c.threshold, fault) for w in c.windows]
        if any(t is None for t in times):
            assert condition_detection(c, fault) is None
        else:
            assert condition_detection(c, fault) == max(t for t in times if t is not None)
        resets = [window_reset(w.seconds, c.threshold, fault) for w in c.windows]
        assert condition_reset(c, fault) == min(resets)


# --- never firing -----------------------------------------------------------------------------


@settings(deadline=None)
@given(st.floats(min_value=1.0, max_value=1e6))
def test_never_fires_above_a_total_outage(threshold: float) -> None:
    assert never_fires(Condition((_D("5m"),), threshold, Op.GT))


@pytest.mark.parametrize("threshold", [0.5, 0.0144, 0.999])
def test_fires_below_a_total_outage(threshold: float) -> None:
    assert not never_fires(Condition((_D("5m"),), threshold, Op.GT))


def test_greater_or_equal_one_fires_on_a_total_outage() -> None:
    assert not never_fires(Condition((_D("5m"),), 1.0, Op.GE))
    assert never_fires(Condition((_D("5m"),), 1.5, Op.GE))


def test_peak_share_of_a_filled_window_is_error_over_threshold() -> None:
    # 5m at 14.4x a 0.1% budget, 20 minutes at 1%: the window fills, 0.01 / 0.0144.
    fast = _alert(Condition((_D("5m"),), 0.0144))
    assert peak_share(fast, Fault(0.01, 1200.0), ramp=300.0) == pytest.approx(0.01 / 0.0144)


def test_peak_share_of_a_budget_window_is_the_budget_the_fault_consumed() -> None:
    # 5% of a 0.5% budget over 30d; 8 minutes of every request slow consume 3.7% of it.
    five = _alert(Condition((_D("30d"),), 0.05 * 0.005, Op.GE))
    consumed = budget_consumed(1.0, 480.0, 0.005, 30 * 86400.0)
    assert peak_share(five, Fault(1.0, 480.0)) == pytest.approx(consumed / 0.05)


def test_peak_share_of_two_windows_is_the_lower_one() -> None:
    # 6h and 30m at 6x: 1h at 0.5% fills the 30m window (0.83x) but a sixth of the 6h one.
    slow = _alert(Condition((_D("6h"), _D("30m")), 0.006))
    assert peak_share(slow, Fault(0.005, 3600.0)) == pytest.approx(0.005 / 6 / 0.006)
