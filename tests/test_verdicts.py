"""Plans, deadlines and judging: names resolve with located errors, deadlines follow the theory."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloverify._exceptions import SpecError
from sloverify.rules.alerts import Condition, ResolvedAlert
from sloverify.spec import AlertKind, Duration, load_spec
from sloverify.spec.experiment_loader import load_experiment_text
from sloverify.verdicts.deadlines import Delays, fire_deadline, reset_deadline
from sloverify.verdicts.judge import judge
from sloverify.verdicts.model import (
    AlertPoll,
    AlertState,
    Notification,
    NotificationStatus,
    Observations,
    Point,
    SeenAlert,
    Status,
)
from sloverify.verdicts.plan import build_plan
from tests.chaos_support import BELOW, FAST_BURN, plan_of
from tests.conftest import ROOT

_D = Duration.parse


def _alert(window: str = "1h", factor: float = 14.4, for_: str = "0s") -> ResolvedAlert:
    cond = Condition((_D(window),), factor * 0.001, factor=factor, budget="0.001")
    return ResolvedAlert("A", AlertKind.BURN_RATE, "page", _D(for_), {}, {}, (cond,))


def test_an_unknown_alert_is_located_with_a_suggestion() -> None:
    with pytest.raises(SpecError) as info:
        plan_of(
            FAST_BURN,
            (
                (
                    "fires, alert: MaestroApiAvailabilityFastBurn}",
                    "fires, alert: MaestroApiAvailabilityFastBrun}",
                ),
            ),
        )
    assert info.value.location.field == "expectations[0].alert"
    assert info.value.location.line == 24
    assert "did you mean 'MaestroApiAvailabilityFastBurn'" in str(info.value)


def test_an_unknown_slo_is_located_with_a_suggestion() -> None:
    with pytest.raises(SpecError) as info:
        plan_of(BELOW, (("slo: availability", "slo: availabilty"),))
    assert info.value.location.field == "expectations[1].slo"
    assert "did you mean 'availability'" in str(info.value)


def test_the_plan_samples_the_base_series_of_a_fixed_range_sli() -> None:
    plan = plan_of(FAST_BURN)
    target = plan.claims[0].target
    assert target.ramp == 300.0  # the [5m] written in document 000's query
    assert target.signal == 'max(slo:sli_error:ratio_base{sloth_id="maestro-api-availability"})'
    assert plan.tick == 0.5  # 30s evaluation / 60
    assert plan.warm_up == _D("10m")


@settings(max_examples=60, deadline=None)
@given(
    e=st.floats(0.02, 1.0),
    k=st.sampled_from([Fraction(1), Fraction(60), Fraction(1440)]),
)
def test_fire_deadline_is_the_workbook_time_plus_the_pipeline_over_k(e: float, k: Fraction) -> None:
    alert, delays = _alert(), Delays()
    d = fire_deadline(alert, e, 3600.0, scale=k, delays=delays)
    threshold = 14.4 * 0.001
    assert d.theory == pytest.approx(3600 * threshold / e, rel=1e-6)
    assert d.prometheus == pytest.approx((d.theory + delays.pipeline) / float(k), rel=1e-6)
    assert d.receiver == pytest.approx(
        d.prometheus + delays.delivery / float(k) + delays.dispatch, rel=1e-6
    )


@settings(max_examples=60, deadline=None)
@given(e1=st.floats(0.02, 1.0), e2=st.floats(0.02, 1.0), for_=st.sampled_from(["0s", "2m"]))
def test_a_stronger_fault_never_has_a_later_deadline(e1: float, e2: float, for_: str) -> None:
    lo, hi = sorted((e1, e2))
    alert = _alert(for_=for_)
    a = fire_deadline(alert, lo, 3600.0, scale=Fraction(60), delays=Delays())
    b = fire_deadline(alert, hi, 3600.0, scale=Fraction(60), delays=Delays())
    assert a.prometheus is not None and b.prometheus is not None
    assert b.prometheus <= a.prometheus + 1e-9


@settings(max_examples=60, deadline=None)
@given(e=st.floats(0.05, 1.0))
def test_reset_deadline_is_the_workbook_reset_plus_the_pipeline(e: float) -> None:
    d = reset_deadline(_alert(), e, 7200.0, scale=Fraction(60), delays=Delays())
    assert d.theory == pytest.approx(3600 * (1 - 0.0144 / e), rel=1e-4, abs=1e-3)
    assert d.prometheus == pytest.approx((d.theory + Delays().pipeline) / 60, rel=1e-6)


def test_an_alert_that_cannot_fire_within_the_fault_has_no_deadline() -> None:
    d = fire_deadline(_alert(), 0.01, 3600.0, scale=Fraction(60), delays=Delays())
    assert d.theory is None and d.prometheus is None
    short = fire_deadline(_alert(), 0.02, 60.0, scale=Fraction(60), delays=Delays())
    assert short.theory is not None and short.prometheus is None  # fires only after 43 min


def _obs(
    points: tuple[Point, ...],
    polls: tuple[AlertPoll, ...],
    fault_end: float = 10.0,
    notifications: tuple[Notification, ...] = (),
) -> Observations:
    plan = plan_of(FAST_BURN)
    return Observations(
        fault_start=0.0,
        fault_end=fault_end,
        until=fault_end + 15.0,
        series={plan.claims[0].target.signal: points},
        polls=polls,
        notifications=notifications,
    )


def test_no_alert_polls_is_inconclusive_never_a_pass() -> None:
    plan = plan_of(FAST_BURN)
    points = tuple(Point(at=t / 2, value=0.3) for t in range(0, 21))
    verdicts = judge(plan, _obs(points, ()))
    fires = verdicts[0]
    assert fires.status is Status.INCONCLUSIVE
    assert "no alert state" in fires.reason


def test_no_samples_is_inconclusive_never_a_pass() -> None:
    plan = plan_of(FAST_BURN)
    polls = tuple(AlertPoll(at=t / 2) for t in range(0, 50))
    verdicts = judge(plan, _obs((), polls))
    assert {v.status for v in verdicts} == {Status.INCONCLUSIVE}
    assert "no samples" in verdicts[0].reason


def test_an_alert_firing_after_its_deadline_fails_with_its_timeline() -> None:
    plan = plan_of(FAST_BURN)
    points = tuple(Point(at=t / 2, value=0.3) for t in range(0, 21))
    late = SeenAlert(
        name="MaestroApiAvailabilityFastBurn", severity="page", state=AlertState.FIRING
    )
    polls = tuple(AlertPoll(at=t / 2, alerts=(late,) if t >= 16 else ()) for t in range(0, 50))
    fires = judge(plan, _obs(points, polls))[0]
    assert fires.status is Status.FAIL
    assert "fired after 8.00s" in fires.reason
    assert fires.evidence.values["measured_error_ratio"] == pytest.approx(0.3)
    assert [c.state for c in fires.evidence.timeline] == [None, AlertState.FIRING]
    assert fires.evidence.queries == (plan.claims[0].target.signal,)


def test_a_change_between_two_polls_straddling_the_deadline_is_not_a_miss() -> None:
    # Polled every 2 s: quiet at 2.0 (before the ~2.8 s deadline), firing at 4.0. It may have
    # fired at 2.1, so the deadline is not shown to be missed.
    plan = plan_of(FAST_BURN)
    points = (Point(at=-1.0, value=0.0), *(Point(at=t / 2, value=0.3) for t in range(1, 21)))
    alert = SeenAlert(
        name="MaestroApiAvailabilityFastBurn", severity="page", state=AlertState.FIRING
    )
    polls = tuple(
        AlertPoll(at=float(t), alerts=(alert,) if 4 <= t <= 10 else ()) for t in range(0, 25, 2)
    )
    fires = judge(plan, _obs(points, polls))[0]
    assert fires.evidence.values["deadline_prometheus"] == pytest.approx(2.8, abs=0.2)
    assert fires.evidence.values["last_quiet_poll_after"] == 2.0
    assert fires.status is Status.FAIL  # no notification reached the receiver
    assert "receiver 'page' got no notification" in fires.reason


def test_a_baseline_over_a_quiet_budget_alerts_threshold_does_not_make_its_deadline_zero() -> None:
    # Live: a few slow requests just before the fault put the 5m latency window over the 5%
    # alert's 30d threshold (0.00025); the alert was quiet, so its 30d window was not. The
    # deadline must be the time from an empty budget (10.8m at e=1), not 0.
    cond = Condition((_D("30d"),), 0.00025, factor=0.05, budget="0.005")
    alert = ResolvedAlert("L", AlertKind.BUDGET_CONSUMED, "warning", _D("0s"), {}, {}, (cond,))
    d = fire_deadline(alert, 1.0, 3600.0, scale=Fraction(60), delays=Delays(), baseline=0.003)
    assert d.theory == pytest.approx(30 * 86400 * 0.00025, rel=1e-6)


def test_the_seconds_before_a_fault_are_not_extended_over_a_budget_window() -> None:
    # Live: right after Prometheus restarted on its backfilled history, 20% of requests were
    # slow for a few seconds. The history itself is slow-free, so the silent 5% budget alert
    # stood at the fault's 0.63x, not at the 588x a 20% baseline over all of 30d would give.
    path = ROOT / "chaos" / "maestro" / "latency-below-budget.yaml"
    loaded = load_experiment_text(path.read_text(encoding="utf-8"), path)
    plan = build_plan(loaded, [load_spec(ROOT / "stacks" / "maestro" / "slo-platform.yaml")])
    fault_s = 7 * 60 / 30
    points = (
        *(Point(at=-10.0 + t / 2, value=0.2) for t in range(20)),
        *(Point(at=t / 2, value=0.97) for t in range(int(fault_s * 2) + 1)),
    )
    obs = Observations(
        fault_start=0.0,
        fault_end=fault_s,
        until=fault_s + 10.0,
        series={plan.claims[0].target.signal: points},
        polls=tuple(AlertPoll(at=float(t)) for t in range(-10, 25)),
    )
    warning = judge(plan, obs)[0]
    assert warning.status is Status.PASS, warning.reason
    consumed = 0.97 * 7 * 60 / (30 * 86400)
    assert warning.evidence.values["share_of_threshold"] == pytest.approx(consumed / 0.00025)


def _rising(over: float, fired_at: float) -> Observations:
    # The fast-burn page's base SLI rising linearly to 0.3 over ``over`` real seconds (the
    # spec's [5m] range at k=60 is 5 s), the alert firing and notified at ``fired_at``.
    points = tuple(Point(at=t / 2, value=0.3 * min(1.0, t / 2 / over)) for t in range(0, 41))
    alert = SeenAlert(
        name="MaestroApiAvailabilityFastBurn", severity="page", state=AlertState.FIRING
    )
    polls = tuple(
        AlertPoll(at=t / 2, alerts=(alert,) if t / 2 >= fired_at else ()) for t in range(0, 60)
    )
    note = Notification(
        at=fired_at + 0.2,
        receiver="page",
        alert=alert.name,
        severity="page",
        status=NotificationStatus.FIRING,
    )
    return _obs(points, polls, fault_end=20.0, notifications=(note,))


def test_a_signal_rising_slower_than_its_range_moves_the_deadline_by_the_rise_it_showed() -> None:
    # Maestro's partial-error bursts: the SLI took twice its [5m] range to rise, and the page
    # fired after the deadline the range alone gives.
    plan = plan_of(FAST_BURN)
    at_range = judge(plan, _rising(over=5.0, fired_at=3.5))[0]
    assert at_range.status is Status.FAIL, at_range.reason
    assert "measured_ramp" not in at_range.evidence.values
    slow = judge(plan, _rising(over=10.0, fired_at=3.5))[0]
    assert slow.status is Status.PASS, slow.reason
    ramp = slow.evidence.values["measured_ramp"]
    assert ramp == pytest.approx(600.0, rel=0.1)  # 10 real seconds at k=60
    assert slow.evidence.values["deadline_prometheus"] > 3.0  # type: ignore[operator]


def _noisy(low: float, high: float, fired_at: float | None) -> Observations:
    # The base SLI alternating between two values every poll (mean halfway), the page firing
    # and notified at ``fired_at`` (never when None), over a 20 s fault.
    fault = (Point(at=t / 2, value=low if t % 2 else high) for t in range(1, 41))
    points = (Point(at=-1.0, value=0.0), *fault)
    alert = SeenAlert(
        name="MaestroApiAvailabilityFastBurn", severity="page", state=AlertState.FIRING
    )
    on = fired_at if fired_at is not None else float("inf")
    polls = tuple(AlertPoll(at=t / 2, alerts=(alert,) if t / 2 >= on else ()) for t in range(60))
    notes = (
        Notification(
            at=on + 0.2,
            receiver="page",
            alert=alert.name,
            severity="page",
            status=NotificationStatus.FIRING,
        ),
    )
    return _obs(points, polls, fault_end=20.0, notifications=notes if fired_at else ())


def test_a_noisy_measurement_judges_the_fire_deadline_at_the_low_end_of_its_error_bar() -> None:
    # The same mean (0.3) measured steadily and measured noisily: the noisy one cannot rule
    # out a lower ratio, so its deadline is later, and a firing between the two deadlines
    # fails only the steady measurement.
    plan = plan_of(FAST_BURN)
    steady = judge(plan, _noisy(0.3, 0.3, fired_at=None))[0].evidence.values
    noisy = judge(plan, _noisy(0.2, 0.4, fired_at=None))[0].evidence.values
    assert steady["measured_error_low"] == pytest.approx(0.3)
    assert noisy["measured_error_ratio"] == pytest.approx(0.3, abs=0.01)
    assert noisy["measured_error_low"] < 0.25 < 0.35 < noisy["measured_error_high"]  # type: ignore[operator]
    early, late = steady["deadline_prometheus"], noisy["deadline_prometheus"]
    assert early is not None and late is not None and late > early + 0.3
    between = (early + late) / 2
    assert judge(plan, _noisy(0.3, 0.3, between))[0].status is Status.FAIL
    assert judge(plan, _noisy(0.2, 0.4, between))[0].status is Status.PASS


def test_an_alert_that_may_fire_only_within_the_error_bar_proves_nothing_by_staying_quiet() -> None:
    # Mean 0.012 is under the page's 14.4 x 0.1% = 0.0144, its error bar's top is not: firing
    # passes (by the fault's end), silence is inconclusive, never a failure of the alert.
    plan = plan_of(FAST_BURN)
    quiet = judge(plan, _noisy(0.004, 0.020, fired_at=None))[0]
    assert quiet.status is Status.INCONCLUSIVE, quiet.reason
    assert "need not fire" in quiet.reason
    fired = judge(plan, _noisy(0.004, 0.020, fired_at=12.0))[0]
    assert fired.status is Status.PASS, fired.reason
    assert fired.evidence.values["deadline_prometheus"] == pytest.approx((1200 + 75) / 60)
    # Steadily at 0.012, the alert cannot fire: written to be wrong, it fails.
    steady = judge(plan, _noisy(0.012, 0.012, fired_at=12.0))[0]
    assert steady.status is Status.FAIL and "cannot fire" in steady.reason
