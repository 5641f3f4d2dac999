"""The engine against the simulated stack: phases in order, faults always removed, honest verdicts."""

from __future__ import annotations

import itertools

import pytest

from sloverify.adapters.simulation import SimulatedStack
from sloverify.engine.events import (
    ExperimentFinished,
    FaultApplied,
    FaultRemoved,
    GuardTripped,
    Phase,
    PhaseStarted,
    VerdictReached,
)
from sloverify.verdicts.model import SeenAlert, Status
from tests.chaos_support import BELOW, FAST_BURN, plan_of, run_sim

PHASES = [p for p in Phase]


def _phases(events: list[object]) -> list[Phase]:
    return [e.phase for e in events if isinstance(e, PhaseStarted)]


def _verdicts(events: list[object]) -> list[VerdictReached]:
    return [e for e in events if isinstance(e, VerdictReached)]


def test_a_correct_experiment_passes_with_phases_in_order() -> None:
    status, events, sim = run_sim(plan_of(FAST_BURN))
    assert status is Status.PASS
    assert _phases(events) == PHASES
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("FaultApplied") < kinds.index("FaultRemoved") < kinds.index("VerdictReached")
    assert isinstance(events[-1], ExperimentFinished)
    assert [v.verdict.status for v in _verdicts(events)] == [Status.PASS] * 4
    assert sim.log == ["apply pg-resets", "remove pg-resets"]
    assert not sim.traffic_running


def test_a_fault_just_below_the_threshold_keeps_the_page_silent() -> None:
    status, events, _ = run_sim(plan_of(BELOW))
    assert status is Status.PASS, [v.verdict.reason for v in _verdicts(events)]


def test_an_alert_that_cannot_fire_at_the_injected_fault_fails_with_evidence() -> None:
    # Written to be wrong: 1% errors (10x budget) can never reach the 14.4x page.
    plan = plan_of(FAST_BURN, (("toxicity: 0.3", "toxicity: 0.01"),))
    status, events, sim = run_sim(plan)
    assert status is Status.FAIL
    fires = _verdicts(events)[0].verdict
    assert fires.status is Status.FAIL
    assert "cannot fire" in fires.reason
    assert fires.evidence.values["measured_error_ratio"] == pytest.approx(0.01)
    assert fires.evidence.values["theory_fires_after"] is None
    assert fires.evidence.timeline  # the polls that show it silent
    assert sim.applied == ()


def test_a_rule_that_never_fires_fails_with_its_timeline() -> None:
    plan = plan_of(FAST_BURN)
    sim = SimulatedStack(plan, broken=frozenset({"MaestroApiAvailabilityFastBurn"}))
    status, events, _ = run_sim(plan, sim)
    assert status is Status.FAIL
    fires = _verdicts(events)[0].verdict
    assert fires.status is Status.FAIL and "never fired" in fires.reason
    assert fires.evidence.values["deadline_prometheus"] is not None


def test_a_stopped_prometheus_is_inconclusive_and_nothing_is_injected() -> None:
    plan = plan_of(FAST_BURN)
    sim = SimulatedStack(plan, prometheus_down=True)
    status, events, _ = run_sim(plan, sim)
    assert status is Status.INCONCLUSIVE
    assert {v.verdict.status for v in _verdicts(events)} == {Status.INCONCLUSIVE}
    assert "no data before the fault" in _verdicts(events)[0].verdict.reason
    assert sim.log == []
    assert not any(isinstance(e, FaultApplied) for e in events)


def test_the_guard_aborts_and_removes_every_fault() -> None:
    plan = plan_of(FAST_BURN, (("max_burn_rate: 1000", "max_burn_rate: 50"),))
    status, events, sim = run_sim(plan)
    assert status is Status.INCONCLUSIVE
    tripped = [e for e in events if isinstance(e, GuardTripped)]
    assert len(tripped) == 1 and tripped[0].burn_rate > 50
    removed = [e for e in events if isinstance(e, FaultRemoved)]
    assert removed and removed[0].at <= tripped[0].at + plan.tick
    assert sim.applied == ()
    assert "guard" in _verdicts(events)[0].verdict.reason
    assert _phases(events)[-1] is Phase.TEARDOWN


class _Exploding(SimulatedStack):
    """Raises once a fault is on, as a bug in a port or an expectation would."""

    def active(self) -> tuple[SeenAlert, ...]:
        if self.applied:
            raise self.boom
        return super().active()

    boom: BaseException = RuntimeError("boom")


@pytest.mark.parametrize("boom", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_fault_is_rolled_back_whatever_ends_the_run(boom: BaseException) -> None:
    plan = plan_of(FAST_BURN)
    sim = _Exploding(plan)
    sim.boom = boom
    with pytest.raises(type(boom)):
        run_sim(plan, sim)
    assert sim.log == ["apply pg-resets", "remove pg-resets"]
    assert sim.applied == ()
    assert not sim.traffic_running


def test_silence_under_a_fault_that_moved_nothing_proves_nothing() -> None:
    # toxicity 0: no request fails, so the page would stay silent right or wrong.
    plan = plan_of(BELOW, (("toxicity: 0.005", "toxicity: 0.0"),))
    status, events, _ = run_sim(plan)
    silent = _verdicts(events)[0].verdict
    assert silent.status is Status.INCONCLUSIVE and "proves nothing" in silent.reason
    assert status is Status.INCONCLUSIVE


def test_silence_near_the_threshold_says_how_near() -> None:
    status, events, _ = run_sim(plan_of(BELOW))
    silent = _verdicts(events)[0].verdict
    assert status is Status.PASS
    # The simulation fails a request per toxicity; live, a request opens several connections.
    assert silent.evidence.values["share_of_threshold"] == pytest.approx(0.005 / 0.0144)


def test_a_crash_loop_kills_evenly_over_its_duration() -> None:
    plan = plan_of(
        FAST_BURN,
        (
            (
                "    kind: toxic\n    edge: maestro-api-postgres\n    toxic: {type: reset_peer, timeout: 0}\n    toxicity: 0.3\n",
                "    kind: kill\n    service: maestro-api\n    times: 3\n",
            ),
        ),
    )
    status, events, sim = run_sim(plan)
    applied = [e.at for e in events if isinstance(e, FaultApplied)]
    assert len(applied) == 3
    gaps = [b - a for a, b in itertools.pairwise(applied)]
    assert all(g == pytest.approx(20 / 3, abs=plan.tick) for g in gaps)  # 20m at k=60, thirds
    assert sim.applied == ()
    assert status is Status.PASS  # the simulation models a crash loop as a full outage


def test_a_fired_budget_alert_does_not_keep_the_run_watching_for_its_reset() -> None:
    # The 30d objective ticket resets a month after it fires (12 hours at k=60); only a
    # resolves claim waits for a reset, so the recovery lasts the fast burn's reset alone.
    plan = plan_of(
        FAST_BURN,
        (
            (
                "  - {expect: fires, alert: MaestroApiAvailabilityFastBurn}\n",
                "  - {expect: fires, alert: MaestroApiAvailabilityFastBurn}\n"
                "  - {expect: fires, alert: MaestroApiAvailabilityBelowObjective}\n",
            ),
            ("toxicity: 0.3", "toxicity: 1.0"),
            ("duration: 20m", "duration: 50m"),
        ),
    )
    _, events, _ = run_sim(plan)
    assert any(isinstance(e, PhaseStarted) and e.phase is Phase.RECOVERY for e in events)
    started = {e.phase: e.at for e in events if isinstance(e, PhaseStarted)}
    assert started[Phase.TEARDOWN] - started[Phase.RECOVERY] < 60


def test_a_30d_budget_window_of_a_ramped_sli_sees_an_hour_long_fault() -> None:
    # Averaging the base SLI at a few points across 30 days missed an hour's outage: the
    # simulated ticket never fired where the theory (and Prometheus) says 45.7m.
    plan = plan_of(
        FAST_BURN,
        (
            (
                "  - {expect: fires, alert: MaestroApiAvailabilityFastBurn}\n",
                "  - {expect: fires, alert: MaestroApiAvailabilityBelowObjective}\n",
            ),
            ("toxicity: 0.3", "toxicity: 1.0"),
            ("duration: 20m", "duration: 60m"),
        ),
    )
    _, events, _ = run_sim(plan)
    below = next(v.verdict for v in _verdicts(events) if "BelowObjective" in v.verdict.label)
    assert below.status is Status.PASS, below.reason
    values = below.evidence.values
    fired, deadline = values["fired_after"], values["deadline_prometheus"]
    assert fired is not None and deadline is not None and 45 < fired <= deadline


class _SlowPolls(SimulatedStack):
    """A stack whose every query takes 200 ms of (fake) time, as a busy machine's may."""

    def query(self, expr: str) -> tuple[float, ...]:
        self.clock.sleep(0.2)
        return super().query(expr)


def test_a_fault_ends_on_time_when_a_poll_overruns_its_end() -> None:
    # A poll that runs past a fault's scheduled end must not make the engine sleep a whole
    # tick before removing it: live, a 125 s pause held on for 155 s at k=60. Polls here
    # take 0.4 s and start 0.9 s apart; the one at 1.8 s runs past the end at 2.08 s.
    later = "  - {name: later, kind: pause, service: maestro-api, duration: 20m}\n"
    plan = plan_of(
        FAST_BURN, (("    start: 0s\n    duration: 20m\n", f"    duration: 125s\n{later}"),)
    )
    _, events, _ = run_sim(plan, _SlowPolls(plan))
    on = next(e.at for e in events if isinstance(e, FaultApplied))
    off = next(e.at for e in events if isinstance(e, FaultRemoved))
    assert 0.2 * len(plan.queries()) == pytest.approx(0.4)
    assert 125 / 60 <= off - on <= 125 / 60 + 0.4 + 0.01
