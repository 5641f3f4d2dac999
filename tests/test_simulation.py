"""The simulated stack's fault effects: what a dry run predicts each kind of fault does."""

from __future__ import annotations

from sloverify.engine.events import VerdictReached
from sloverify.spec import load_spec
from sloverify.spec.experiment_loader import load_experiment_text
from sloverify.verdicts.model import Status
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
