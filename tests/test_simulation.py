"""The simulated stack's fault effects: what a dry run predicts each kind of fault does."""

from __future__ import annotations

import re

import pytest

from sloverify._exceptions import SpecError
from sloverify.engine.events import VerdictReached
from sloverify.spec import load_spec
from sloverify.spec.experiment_loader import load_experiment_text
from sloverify.verdicts.model import Status, Verdict
from sloverify.verdicts.plan import build_plan
from tests.chaos_support import run_sim
from tests.conftest import ROOT

MAESTRO = ROOT / "stacks" / "maestro"
SLOW_QUERIES = """\
version: sloverify/v1
kind: experiment
name: slow-queries
stack: maestro
time_scale: 60
warm_up: 10m
faults:
  - {name: pg-slow, kind: toxic, edge: maestro-api-postgres, toxic: {type: latency, latency: 60},
     toxicity: 1.0, duration: 15m}
expectations:
  - {expect: fires, alert: MaestroApiLatencyBudget5Percent}
  - {expect: silent, alert: MaestroApiLatencyBudget10Percent}
  - {expect: silent, alert: MaestroApiAvailabilityFastBurn}
"""


def test_a_latency_toxic_slows_latency_slis_and_fails_nothing() -> None:
    # 60 ms is far under the services' 1 s deadline: requests are slow, none fails. The
    # latency SLI sees the toxicity (every connection) as slow; availability sees no error,
    # so its silence is inconclusive (the fault did not move it), not a pass.
    loaded = load_experiment_text(SLOW_QUERIES, MAESTRO / "slow-queries.yaml")
    specs = [load_spec(MAESTRO / "slo-platform.yaml"), load_spec(MAESTRO / "slo-api.yaml")]
    _, events, _ = run_sim(build_plan(loaded, specs))
    verdicts = {e.verdict.label: e.verdict for e in events if isinstance(e, VerdictReached)}
    assert verdicts["fires MaestroApiLatencyBudget5Percent"].status is Status.PASS
    ten = verdicts["silent MaestroApiLatencyBudget10Percent"]
    assert ten.status is Status.PASS
    # 15m of every request slow against 10% of a 0.5% budget over 30d (21.6m).
    share = ten.evidence.values["share_of_threshold"]
    assert share is not None and abs(share - 15 / 21.6) < 0.02
    fast = verdicts["silent MaestroApiAvailabilityFastBurn"]
    assert fast.status is Status.INCONCLUSIVE
    assert "did not move the SLI" in fast.reason


TWO_EDGES = """\
version: sloverify/v1
kind: experiment
name: two-edges
stack: maestro
time_scale: 60
warm_up: 10m
faults:
  - {name: api-resets, kind: toxic, edge: maestro-api-postgres, toxic: {type: reset_peer},
     toxicity: 0.04, duration: 25m, simulated: {mutating-success: 0.05, database-availability: 0.03}}
  - {name: exec-resets, kind: toxic, edge: maestro-executor-postgres, toxic: {type: reset_peer},
     toxicity: 0.5, duration: 25m, simulated: {database-availability: 0.04}}
expectations:
  - {expect: silent, alert: MaestroApiMutatingFastBurn}
  - {expect: fires, alert: MaestroDatabaseAvailabilityCritical}
  - {expect: silent, alert: MaestroRunSuccessCritical}
"""


def _two_edges(text: str = TWO_EDGES) -> dict[str, Verdict]:
    loaded = load_experiment_text(text, MAESTRO / "two-edges.yaml")
    specs = [load_spec(MAESTRO / "slo-platform.yaml"), load_spec(MAESTRO / "slo-api.yaml")]
    _, events, _ = run_sim(build_plan(loaded, specs))
    return {e.verdict.label: e.verdict for e in events if isinstance(e, VerdictReached)}


def test_simulated_ratios_move_only_the_named_slos_and_add_across_faults() -> None:
    verdicts = _two_edges()
    # The executor's 0.5 toxicity never reaches mutating-success (not named by its fault).
    mutating = verdicts["silent MaestroApiMutatingFastBurn"]
    assert mutating.status is Status.PASS
    assert mutating.evidence.values["measured_error_ratio"] == pytest.approx(0.05)
    # Two edges failing calls of one SLI: their ratios add.
    db = verdicts["fires MaestroDatabaseAvailabilityCritical"]
    assert db.status is Status.PASS
    assert db.evidence.values["measured_error_ratio"] == pytest.approx(0.07)
    # Named by neither fault: untouched, so its silence proves nothing.
    assert verdicts["silent MaestroRunSuccessCritical"].status is Status.INCONCLUSIVE
    # Without the ratios every SLO sees the largest toxicity: the mutating burn fires.
    bare = re.sub(r",\s*simulated: \{[^}]*\}", "", TWO_EDGES)
    assert _two_edges(bare)["silent MaestroApiMutatingFastBurn"].status is Status.FAIL


def test_a_simulated_ratio_for_an_unknown_slo_is_a_located_error() -> None:
    text = TWO_EDGES.replace(
        "simulated: {database-availability: 0.04}", "simulated: {databse: 0.04}"
    )
    loaded = load_experiment_text(text, MAESTRO / "two-edges.yaml")
    with pytest.raises(SpecError) as err:
        build_plan(
            loaded, [load_spec(MAESTRO / "slo-platform.yaml"), load_spec(MAESTRO / "slo-api.yaml")]
        )
    assert "two-edges.yaml:11: faults[1].simulated.databse: no SLO 'databse'" in str(err.value)
    assert "the stack's SLOs are" in str(err.value) and "'run-success'" in str(err.value)


DVT = ROOT / "stacks" / "dvt"
BUS_DOWN = """\
version: sloverify/v1
kind: experiment
name: bus-down
stack: dvt
time_scale: 60
warm_up: 10m
faults:
  - {name: bus-down, kind: proxy_disabled, edge: dvt-projection-kafka, duration: 10m,
     simulated: {projection-lag: 1.0, DvtProjectionGap: %s}}
expectations:
  - {expect: fires, alert: DvtProjectionLagHigh}
  - {expect: silent, alert: DvtProjectionGap, witness: projection-lag}
"""


@pytest.mark.parametrize(("gap", "silent"), [("0.0", Status.PASS), ("1.0", Status.FAIL)])
def test_simulated_can_name_a_free_query_alert_apart_from_its_slo(gap: str, silent: Status) -> None:
    # Lag and gap alerts share dvt's projection-lag SLO: a bus outage moves the lag, and only
    # the gap count's own simulated ratio says whether gaps appear.
    loaded = load_experiment_text(BUS_DOWN % gap, DVT / "bus-down.yaml")
    _, events, _ = run_sim(build_plan(loaded, [load_spec(DVT / "slo.yaml")]))
    verdicts = {e.verdict.label: e.verdict for e in events if isinstance(e, VerdictReached)}
    assert verdicts["fires DvtProjectionLagHigh"].status is Status.PASS
    assert verdicts["silent DvtProjectionGap"].status is silent
