"""ca3's chaos claims without a live stack: blind SLIs (lint SLO006), witnessed silence, the
coverage table's "unprovable", restart counts, the NaN-proof base series and the fault onset."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sloverify.adapters.simulation import SimulatedStack
from sloverify.cli.chaos import blind_of
from sloverify.engine.events import Event
from sloverify.reports.coverage import Coverage, coverage_table
from sloverify.rules.generate import RuleOptions, generate
from sloverify.rules.render import rule_file
from sloverify.spec import LoadedSpec, load_spec, load_spec_text
from sloverify.spec.experiment_loader import load_experiment_text
from sloverify.verdicts.judge import judge
from sloverify.verdicts.model import AlertPoll, Observations, Point, Status, Verdict
from sloverify.verdicts.plan import Plan, build_plan
from tests.chaos_support import run_sim
from tests.conftest import ROOT

CA3 = ROOT / "stacks" / "ca3"
OUTAGE = ROOT / "chaos" / "ca3" / "mongo-outage.yaml"
CRASHES = ROOT / "chaos" / "ca3" / "processor-crash-loop.yaml"
BELOW = ROOT / "chaos" / "ca3" / "processor-restarts-below.yaml"
LITERAL = ("ca3-processor", "api-availability")


def _specs() -> list[LoadedSpec]:
    return [load_spec(CA3 / "slo-corrected.yaml"), load_spec(CA3 / "slo.yaml")]


def _plan(path: Path, replace: tuple[tuple[str, str], ...] = ()) -> Plan:
    text = path.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    return build_plan(load_experiment_text(text, path), _specs())


def _blind_sim(plan: Plan) -> SimulatedStack:
    ids = frozenset(
        t.sloth_id for c in plan.claims for t in (c.target,) if t.slo.name == "api-availability"
    )
    return SimulatedStack(plan, blind=ids)


def _verdicts(events: list[Event]) -> dict[str, Verdict]:
    return {v.label: v for e in events if (v := getattr(e, "verdict", None)) is not None}


def test_lint_finds_the_literal_sli_blind_and_the_corrected_one_not(inspector_binary: str) -> None:
    blind = blind_of(_specs())
    assert set(blind) == {LITERAL}
    finding = blind[LITERAL]
    assert finding.id == "SLO006" and "status" in finding.message
    assert finding.location.field == "slos[0].sli.events.good_query"


def test_a_wrong_metric_name_in_the_text_alone_is_not_blind(inspector_binary: str) -> None:
    # SLO006 on stated.metric: the document's words disagree, its query still reads data.
    path = CA3 / "slo-corrected.yaml"
    text = path.read_text().replace(
        "      endpoints: [GET /health, GET /gpu/info]\n",
        "      endpoints: [GET /health, GET /gpu/info]\n    stated:\n"
        "      metric: http_requests_total\n",
        1,
    )
    assert blind_of([load_spec_text(text, path)]) == {}


def test_the_literal_alerts_stay_silent_through_an_outage_their_witness_saw() -> None:
    plan = _plan(OUTAGE)
    status, events, _ = run_sim(plan, _blind_sim(plan))
    verdicts = _verdicts(events)
    assert status is Status.PASS, [v.reason for v in verdicts.values()]
    silent = verdicts["silent ProcessorAvailabilityBurnRate1h"]
    assert "its own SLI: no data" in silent.reason
    assert silent.evidence.values["witness_error_ratio"] == pytest.approx(1.0)
    assert (silent.evidence.values["witness_share_of_threshold"] or 0) > 1


def test_without_a_witness_the_blind_alerts_silence_is_inconclusive() -> None:
    # Its own SLI has no data before the fault: nothing it says could be trusted.
    plan = _plan(OUTAGE, ((", witness: api-availability-corrected}", "}"),))
    status, events, _ = run_sim(plan, _blind_sim(plan))
    silent = _verdicts(events)["silent ProcessorAvailabilityBurnRate24h"]
    assert status is Status.INCONCLUSIVE
    assert silent.status is Status.INCONCLUSIVE
    assert 'sloth_id="ca3-processor-api-availability"}) returned nothing' in silent.reason


def test_a_witness_the_fault_did_not_move_proves_nothing() -> None:
    plan = _plan(OUTAGE)
    sim = _blind_sim(plan)
    quiet = SimulatedStack(plan, effect=lambda _: 0.0, blind=sim.blind)
    _, events, _ = run_sim(plan, quiet)
    silent = _verdicts(events)["silent ProcessorAvailabilityBurnRateHigh"]
    assert silent.status is Status.INCONCLUSIVE
    assert "its witness api-availability-corrected measured" in silent.reason


def test_had_the_literal_sli_read_data_its_alerts_would_fire_and_the_claim_fail() -> None:
    plan = _plan(OUTAGE)
    status, events, _ = run_sim(plan, SimulatedStack(plan))  # nothing blind
    assert status is Status.FAIL
    assert _verdicts(events)["silent ProcessorAvailabilityBurnRateHigh"].status is Status.FAIL


def test_three_crashes_fire_the_restarts_alert_and_two_keep_it_silent() -> None:
    status, events, _ = run_sim(_plan(CRASHES))
    assert status is Status.PASS
    status, events, _ = run_sim(_plan(BELOW))
    silent = _verdicts(events)["silent ProcessorRestartsHigh"]
    assert status is Status.PASS, silent.reason
    assert silent.evidence.values["query_peak"] == 2.0


def test_coverage_marks_a_blind_alert_unprovable_not_missing(inspector_binary: str) -> None:
    plan = _plan(OUTAGE)
    _, events, _ = run_sim(plan, _blind_sim(plan))
    specs = _specs()
    cov = Coverage.build({"ca3": specs}, events, blind_of(specs))
    rows = {r.alert: r for r in cov.rows}
    literal = rows["ProcessorAvailabilityBurnRateHigh"]
    assert literal.unprovable.startswith("SLO006: label 'status'")
    assert literal.fires == [] and literal.silent == ["mongo-outage"]
    assert literal not in cov.missing
    assert rows["ProcessorRestartsHigh"] in cov.missing  # no experiment of it ran here
    assert rows["ProcessorAvailabilityBurnRateHighCorrected"] not in cov.missing or not (
        rows["ProcessorAvailabilityBurnRateHighCorrected"].silent
    )
    unwitnessed = Coverage.build({"ca3": specs}, (), blind_of(specs))
    assert next(r for r in unwitnessed.rows if r.alert == literal.alert) in unwitnessed.missing
    from rich.console import Console

    console = Console(width=300, record=True)
    console.print(coverage_table(cov))
    assert "unprovable (SLO006" in console.export_text()


def test_an_idle_moment_no_longer_blinds_a_fixed_range_slis_window(
    tmp_path: Path, promtool: str
) -> None:
    # 0/0 before traffic starts was NaN in the base series, and avg_over_time over it NaN for
    # a whole window: the 1h alert could not fire until the NaN left its window.
    rules = generate(load_spec(CA3 / "slo-corrected.yaml").spec, RuleOptions())
    (tmp_path / "rules.yml").write_text(rule_file([g for r in rules for g in r.groups], "test"))
    good = 'starlette_requests_total{job="processor",path="/gpu/info",status_code="200"}'
    bad = 'starlette_requests_total{job="processor",path="/gpu/info",status_code="503"}'
    (tmp_path / "test.yml").write_text(
        f"""rule_files: [rules.yml]
evaluation_interval: 30s
tests:
  - interval: 30s
    input_series:
      - {{series: '{good}', values: '0x20 0+30x200'}}
      - {{series: '{bad}', values: '0x40 0+30x200'}}
    alert_rule_test:
      - eval_time: 30m
        alertname: ProcessorAvailabilityBurnRate1hCorrected
        exp_alerts:
          - exp_labels:
              severity: warning
              team: ca3
              sloth_id: ca3-processor-api-availability-corrected
              sloth_service: ca3-processor
              sloth_slo: api-availability-corrected
            exp_annotations:
              summary: "ca3-processor api-availability-corrected: ProcessorAvailabilityBurnRate1hCorrected"
              description: error ratio over 1h > 0.03 (6x budget)
"""
    )
    proc = subprocess.run(
        [promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _onset_obs(plan: Plan, rises_at: float) -> Observations:
    signal = plan.claims[0].target.signal
    points = tuple(
        Point(at=t / 10, value=0.0 if t / 10 < rises_at else 0.9) for t in range(-50, 120)
    )
    return Observations(
        fault_start=0.0,
        fault_end=12.0,
        until=20.0,
        series={signal: points},
        polls=tuple(AlertPoll(at=t / 2) for t in range(0, 40)),
    )


def test_a_fault_whose_errors_come_late_starts_the_deadline_late() -> None:
    plan = _plan(OUTAGE)
    prompt = judge(plan, _onset_obs(plan, 0.1))[0].evidence.values
    late = judge(plan, _onset_obs(plan, 2.0))[0].evidence.values
    assert prompt["fault_onset"] == 0.0
    seen = (15 + 30) / 60 + plan.tick  # a scrape, the recording evaluation and a poll
    assert late["fault_onset"] == pytest.approx(2.0 - seen)
    assert late["deadline_prometheus"] == pytest.approx(
        (prompt["deadline_prometheus"] or 0) + (late["fault_onset"] or 0)
    )
