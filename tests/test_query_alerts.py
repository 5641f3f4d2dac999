"""Alerts over a free query (ca3's restart count): timed from the query, judged honestly."""

from __future__ import annotations

from pathlib import Path

from sloverify.adapters.simulation import SimulatedStack
from sloverify.engine.events import VerdictReached
from sloverify.rules.alerts import ResolvedAlert
from sloverify.spec import load_spec
from sloverify.spec.experiment import FaultSpec
from sloverify.spec.experiment_loader import load_experiment_text
from sloverify.verdicts.model import SeenAlert, Status, Verdict
from sloverify.verdicts.plan import Plan, build_plan
from tests.chaos_support import run_sim
from tests.conftest import ROOT

CA3 = ROOT / "stacks" / "ca3" / "slo.yaml"
CRASH_LOOP = """\
version: sloverify/v1
kind: experiment
name: crash-loop
stack: ca3
time_scale: 1440
warm_up: 1h
faults:
  - {name: loop, kind: kill, service: processor, times: 5, duration: 2h}
expectations:
  - {expect: fires, alert: ProcessorRestartsHigh}
  - {expect: resolves, alert: ProcessorRestartsHigh}
"""
QUIET = CRASH_LOOP.replace("fires, alert", "silent, alert").replace(
    "  - {expect: resolves, alert: ProcessorRestartsHigh}\n", ""
)


def _plan(text: str) -> Plan:
    return build_plan(load_experiment_text(text, Path("chaos/ca3/x.yaml")), [load_spec(CA3)])


def _run(text: str, sim_of: type[SimulatedStack] = SimulatedStack, **kw: object) -> list[Verdict]:
    plan = _plan(text)
    _, events, _ = run_sim(plan, sim_of(plan, **kw))  # type: ignore[arg-type]
    return [e.verdict for e in events if isinstance(e, VerdictReached)]


def test_the_plan_polls_the_alerts_own_query_at_the_time_scale() -> None:
    plan = _plan(CRASH_LOOP)
    q = plan.claims[0].query
    assert "kube_pod_container_status_restarts_total" in q and "[1m]" in q  # 24h / 1440
    assert q in plan.queries()


def test_a_crash_loop_fires_by_the_measured_deadline_and_resolves_after_the_window() -> None:
    fires, resolves = _run(CRASH_LOOP)
    assert fires.status is Status.PASS, fires.reason
    v = fires.evidence.values
    assert v["query_crossed_after"] is not None and v["fired_after"] is not None
    # The last poll that still showed it quiet came before the deadline.
    assert v["last_quiet_poll_after"] < v["deadline_prometheus"]  # type: ignore[operator]
    assert v["deadline_prometheus"] > v["query_crossed_after"]  # type: ignore[operator]
    assert resolves.status is Status.PASS, resolves.reason
    assert resolves.evidence.values["query_cleared_after"] is not None


def test_a_fault_too_weak_to_cross_fails_fires_and_proves_silence() -> None:
    def weak(_: FaultSpec) -> float:
        return 0.3  # the query never reaches the threshold

    (fires, resolves) = _run(CRASH_LOOP, effect=weak)
    assert fires.status is Status.FAIL
    assert "never went >= 3" in fires.reason and "cannot fire" in fires.reason
    assert resolves.status is Status.INCONCLUSIVE
    (silent,) = _run(QUIET, effect=weak)
    assert silent.status is Status.PASS, silent.reason
    assert silent.evidence.values["query_peak"] < 3  # type: ignore[operator]


def test_an_alert_that_never_fires_although_its_query_crossed_fails_with_evidence() -> None:
    fires, _ = _run(CRASH_LOOP, broken=frozenset({"ProcessorRestartsHigh"}))
    assert fires.status is Status.FAIL
    assert "never fired; its query went >= 3" in fires.reason
    assert fires.evidence.timeline and fires.evidence.queries


def test_a_fault_that_moves_nothing_makes_silence_inconclusive() -> None:
    def none(_: FaultSpec) -> float:
        return 0.0

    (silent,) = _run(QUIET, effect=none)
    assert silent.status is Status.INCONCLUSIVE
    assert "silence proves nothing" in silent.reason


def test_a_stopped_prometheus_is_inconclusive() -> None:
    verdicts = _run(CRASH_LOOP, prometheus_down=True)
    assert {v.status for v in verdicts} == {Status.INCONCLUSIVE}


DVT = ROOT / "stacks" / "dvt" / "slo.yaml"
NO_GAP = """\
version: sloverify/v1
kind: experiment
name: bus-down
stack: dvt
time_scale: 60
warm_up: 10m
faults:
  - {name: bus-down, kind: proxy_disabled, edge: dvt-outbox-relay-kafka, duration: 10m,
     simulated: {projection-lag: 1.0, DvtProjectionGap: 0.0}}
expectations:
  - {expect: silent, alert: DvtProjectionGap, witness: projection-lag}
"""


def _run_dvt(text: str, **kw: object) -> list[Verdict]:
    plan = build_plan(load_experiment_text(text, Path("chaos/dvt/x.yaml")), [load_spec(DVT)])
    _, events, _ = run_sim(plan, SimulatedStack(plan, **kw))  # type: ignore[arg-type]
    return [e.verdict for e in events if isinstance(e, VerdictReached)]


def test_a_query_resting_at_its_floor_is_proven_silent_by_a_witness_that_saw_the_fault() -> None:
    (silent,) = _run_dvt(NO_GAP)
    assert silent.status is Status.PASS, silent.reason
    assert "its witness projection-lag measured e=1" in silent.reason
    assert silent.evidence.values["query_peak"] == 0
    assert silent.evidence.values["witness_error_ratio"] == 1.0


def test_without_a_witness_a_query_at_its_floor_proves_nothing() -> None:
    (silent,) = _run_dvt(NO_GAP.replace(", witness: projection-lag", ""))
    assert silent.status is Status.INCONCLUSIVE
    assert "no further than before the fault" in silent.reason


def test_a_witness_the_fault_did_not_move_leaves_silence_inconclusive() -> None:
    (silent,) = _run_dvt(NO_GAP.replace("projection-lag: 1.0", "projection-lag: 0.0"))
    assert silent.status is Status.INCONCLUSIVE
    assert "its witness projection-lag measured 0, not above baseline" in silent.reason


def test_a_faults_simulated_ratio_moves_its_slos_free_queries_only() -> None:
    # 30% of the fault for projection-lag: its lag query stays under 100, as live.
    slow = NO_GAP.replace("{projection-lag: 1.0, DvtProjectionGap: 0.0}", "{projection-lag: 0.3}")
    slow = slow.replace("DvtProjectionGap, witness: projection-lag", "DvtProjectionLagHigh")
    slow += "  - {expect: silent, alert: DvtPauseLatencyHigh}\n"
    plan = build_plan(load_experiment_text(slow, Path("chaos/dvt/x.yaml")), [load_spec(DVT)])
    _, events, _ = run_sim(plan, SimulatedStack(plan))
    lag, pause = [e.verdict for e in events if isinstance(e, VerdictReached)]
    assert lag.status is Status.PASS, lag.reason
    assert lag.evidence.values["query_peak"] == 60  # 100 + (2 * 0.3 - 1) * 100
    # pause-latency is not in the fault's simulated ratios: its query does not move.
    assert pause.status is Status.INCONCLUSIVE, pause.reason


STALL = """\
version: sloverify/v1
kind: experiment
name: stall
stack: dvt
time_scale: 60
warm_up: 10m
faults:
  - {name: slow, kind: toxic, edge: dvt-worker-postgres, toxic: {type: latency, latency: 150},
     duration: 30m}
expectations:
  - {expect: fires, alert: DvtCompletionLatencyHigh}
"""


class _DrainsAfter(SimulatedStack):
    """Completions stop during the stall and the stalled runs complete late once it ends."""

    def query_value(self, alert: ResolvedAlert, t: float) -> float:
        ended = [s.off for _, s in self.segments if s.off is not None]
        return 59.7 if ended and t > max(ended) + 2.0 else 0.0


def test_a_stall_seen_only_when_the_stalled_work_completes_fires_from_that_crossing() -> None:
    plan = build_plan(load_experiment_text(STALL, Path("chaos/dvt/x.yaml")), [load_spec(DVT)])
    _, events, _ = run_sim(plan, _DrainsAfter(plan))
    (fires,) = [e.verdict for e in events if isinstance(e, VerdictReached)]
    assert fires.status is Status.PASS, fires.reason
    v = fires.evidence.values
    # Crossed in the recovery, 2 s after the 30 s fault; the deadline counts from there.
    assert v["query_crossed_after"] is not None and v["query_crossed_after"] > 30
    assert v["deadline_prometheus"] > v["query_crossed_after"]  # type: ignore[operator]


BLIP = NO_GAP.replace(
    "silent, alert: DvtProjectionGap, witness: projection-lag", "fires, alert: DvtProjectionGap"
).replace("DvtProjectionGap: 0.0", "DvtProjectionGap: 1.0")


class _BlipBetweenPolls(SimulatedStack):
    """The gap alert fires and notifies, but resolves before any poll reads it."""

    def active(self) -> tuple[SeenAlert, ...]:
        return tuple(a for a in super().active() if a.name != "DvtProjectionGap")


def test_an_alert_that_fired_between_two_polls_is_proven_by_its_notification() -> None:
    plan = build_plan(load_experiment_text(BLIP, Path("chaos/dvt/x.yaml")), [load_spec(DVT)])
    _, events, _ = run_sim(plan, _BlipBetweenPolls(plan))
    (fires,) = [e.verdict for e in events if isinstance(e, VerdictReached)]
    assert fires.status is Status.PASS, fires.reason
    assert fires.evidence.values["fired_between_polls"] == 1.0
    assert fires.evidence.values["notified_after"] is not None
