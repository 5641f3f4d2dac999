"""The maestro reference stack (documents 000 and 001), running: queries, faults, contract.

One stack per module (scale 60). Traffic is a bounded loop over every endpoint; the fault
tests measure the SLIs' error ratios from Prometheus's counters (what the SLOs read), not
from the client's view.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sloverify.adapters.prometheus import Sample
from sloverify.adapters.promql import GoInspector
from sloverify.adapters.runtime.stackrun import StackRun
from sloverify.adapters.toxiproxy import ResetPeerAttributes, TimeoutAttributes, Toxic
from sloverify.cli.loading import load_all
from sloverify.rules.lint import LintContext, run_lint
from sloverify.rules.queries import spec_queries
from sloverify.rules.sli import error_ratio
from sloverify.spec import Duration
from sloverify.spec.loader import load_spec
from tests.conftest import STACKS
from tests.stack_support import run_schemathesis, stack_fixture

SPECS = (STACKS / "maestro" / "slo-api.yaml", STACKS / "maestro" / "slo-platform.yaml")

# What the specs' "LINT" comments announce: the documents' own mistakes, asserted instead of
# data where the document is wrong (its queries still run, see the stack tests below).
EXPECTED_FINDINGS = [
    ("slo-api.yaml", "SLO007", "availability: the SLI fixes its range at [5m]"),
    ("slo-api.yaml", "SLO003", "MaestroApiAvailabilityFastBurn fires on 5m alone"),
    ("slo-api.yaml", "SLO005", "read-latency: the selector also counts POST /api/maestro/v1/runs"),
    (
        "slo-api.yaml",
        "SLO005",
        "mutating-success: the selector also counts GET /api/maestro/v1/runs",
    ),
    ("slo-api.yaml", "SLO007", "mutating-success: the SLI fixes its range at [5m]"),
    ("slo-api.yaml", "SLO003", "MaestroApiMutatingFastBurn fires on 5m alone"),
    (
        "slo-api.yaml",
        "SLO005",
        "run-creation-latency: the selector also counts GET /api/maestro/v1/runs",
    ),
    (
        "slo-platform.yaml",
        "SLO008",
        "api-latency (99.5% under 0.2) conflicts with maestro-api/read-latency",
    ),
    (
        "slo-platform.yaml",
        "SLO008",
        "api-latency (99.5% under 0.2) conflicts with maestro-api/run-creation-latency",
    ),
]


@pytest.fixture(scope="module")
def findings() -> list[tuple[str, str, str]]:
    loaded = load_all(list(SPECS), GoInspector())
    return [
        (Path(f.location.path).name, f.id, f.message)
        for f in run_lint(LintContext(loaded.specs, loaded.facts))
    ]


@pytest.mark.parametrize(("spec", "lint_id", "words"), EXPECTED_FINDINGS)
def test_lint_reports_the_documents_mistake(
    findings: list[tuple[str, str, str]], spec: str, lint_id: str, words: str
) -> None:
    assert any(s == spec and i == lint_id and words in m for s, i, m in findings), findings


def test_every_finding_is_announced_by_a_lint_comment(findings: list[tuple[str, str, str]]) -> None:
    # A finding no "LINT SLOnnn" comment announces is a false positive or an unknown mistake.
    texts = {p.name: p.read_text() for p in SPECS}
    unannounced = [f for f in findings if not re.search(rf"LINT[^\n]*{f[1]}", texts[f[0]])]
    assert not unannounced
    assert {i for _, i, _ in findings} == {"SLO003", "SLO005", "SLO007", "SLO008"}


# ---- the running stack ---------------------------------------------------------------------

maestro = stack_fixture("maestro")
API = "/api/maestro/v1"
PIPELINES = ("build", "deploy", "nightly-etl", "model-eval")

# Document 000's SLI column, verbatim.
DOCUMENT_000 = [
    'sum(rate(http_requests_total{service="maestro-api",path=~"/api/maestro/v1/.*",code!~"5.."}[5m])) / sum(rate(http_requests_total{service="maestro-api",path=~"/api/maestro/v1/.*"}[5m]))',
    'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{service="maestro-api",path=~"/api/maestro/v1/(runs|pipelines).*"}[5m])) by (le,path))',
    'sum(rate(http_requests_total{service="maestro-api",path=~"/api/maestro/v1/(runs|pipelines/.*/executions)",code!~"5.."}[5m])) / sum(rate(http_requests_total{service="maestro-api",path=~"/api/maestro/v1/(runs|pipelines/.*/executions)"}[5m]))',
    'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{service="maestro-api",path="/api/maestro/v1/runs"}[5m])) by (le))',
]
# 001 names metrics only; its SLIs are the spec's queries (with {{.window}} as 5m).
SPEC_QUERIES = [(p.name, q.path, q.text) for p in SPECS for q in spec_queries(load_spec(p))]

API_REQUESTS = 'sum(http_requests_total{service="maestro-api",path=~"/api/maestro/v1/.*"})'
API_ERRORS = (
    'sum(http_requests_total{service="maestro-api",path=~"/api/maestro/v1/.*",code=~"5.."})'
)
RUNS = 'sum(maestro_runs_total{service="maestro-api"})'
FAILED_RUNS = 'sum(maestro_runs_total{service="maestro-api",outcome="failed"})'


def _spec_error_ratio(slo_name: str) -> str:
    """An SLO's error ratio over 5m as sloverify builds it from the spec."""
    slos = [slo for p in SPECS for slo in load_spec(p).spec.slos if slo.name == slo_name]
    return error_ratio(slos[0].sli).over(Duration.parse("5m"))


RESET_30 = Toxic(name="errors", attributes=ResetPeerAttributes(timeout=0), toxicity=0.3)


@dataclass(frozen=True)
class Sent:
    """What a traffic loop sent: requests, runs created, and runs asked to fail."""

    requests: int
    codes: tuple[int, ...]
    runs: int
    failing: int


def _drive(url: str, rounds: int, seconds: float, fail_every: int = 0) -> Sent:
    """Every endpoint once per round (plus a 404), bounded by rounds and time."""
    codes: list[int] = []
    runs = failing = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url + API, timeout=5.0, trust_env=False) as client:
        for i in range(rounds):
            if time.monotonic() > deadline:
                break
            pipeline = PIPELINES[i % len(PIPELINES)]
            fail = bool(fail_every) and i % fail_every == 0
            body = {"pipeline_id": pipeline, "parameters": {"fail": fail, "round": i}}
            created = client.post("/runs", json=body)
            executed = client.post(f"/pipelines/{pipeline}/executions", json={"parameters": {}})
            for response, fails in ((created, fail), (executed, False)):
                if response.status_code == 201:
                    runs += 1
                    failing += fails
            run_id = created.json()["id"] if created.status_code == 201 else "run-missing"
            replies = [
                created,
                executed,
                client.get("/runs", params={"limit": 5}),
                client.get(f"/runs/{run_id}"),
                client.get("/pipelines"),
                client.get(f"/pipelines/{pipeline}"),
                client.get("/pipelines/no-such-pipeline"),
            ]
            codes += [r.status_code for r in replies]
    return Sent(len(codes), tuple(codes), runs, failing)


def _value(run: StackRun, expr: str) -> float:
    samples = run.prometheus.query(expr)
    return samples[0].value if samples else 0.0


def _scraped(run: StackRun, expr: str, at_least: float, timeout: float = 30.0) -> float:
    """The counter sum once Prometheus has scraped at least ``at_least`` of it."""
    samples = run.prometheus.wait_for(
        expr, lambda s: bool(s) and s[0].value >= at_least, timeout=timeout
    )
    value = samples[0].value if samples else 0.0
    assert value >= at_least, f"{expr}: {value} after {timeout}s, expected >= {at_least}"
    return value


@pytest.fixture(scope="module")
def traffic(maestro: StackRun) -> Sent:
    # Scraped before the traffic starts: a series' first sample must come before its
    # increments, or rate() over the traffic sees one flat sample and answers 0.
    up = 'sum(up{job=~"maestro-api|maestro-executor"})'
    assert _scraped(maestro, up, 2) == 2
    # Every fifth POST /runs asks to fail, so the run-success SLI has both outcomes.
    sent = _drive(maestro.url("maestro-api"), rounds=40, seconds=60, fail_every=5)
    assert sent.runs > 0 and not [c for c in sent.codes if c >= 500], sent.codes
    _scraped(maestro, API_REQUESTS, sent.requests)
    _scraped(maestro, RUNS, sent.runs)
    return sent


def _finite(samples: tuple[Sample, ...]) -> bool:
    return bool(samples) and all(math.isfinite(s.value) for s in samples)


@pytest.mark.parametrize(
    "expr", DOCUMENT_000, ids=["availability", "read-p95", "mutating", "create-p95"]
)
def test_document_000_query_returns_data(maestro: StackRun, traffic: Sent, expr: str) -> None:
    samples = maestro.prometheus.wait_for(expr, _finite, timeout=20)
    assert _finite(samples), f"no data for {expr}: {samples}"


def test_read_latency_query_has_a_series_per_route(maestro: StackRun, traffic: Sent) -> None:
    # by (le,path) over 000's "read" regex: every route template, the executions POST too
    # (SLO005: the regex is not limited to reads; /runs holds GET and POST alike).
    samples = maestro.prometheus.query(DOCUMENT_000[1])
    routes = ("/runs", "/runs/{id}", "/pipelines", "/pipelines/{id}", "/pipelines/{id}/executions")
    assert {s.labels["path"] for s in samples} == {API + r for r in routes}


@pytest.mark.parametrize(
    ("spec", "path", "expr"),
    SPEC_QUERIES,
    ids=[f"{s}:{'.'.join(map(str, p))}" for s, p, _ in SPEC_QUERIES],
)
def test_spec_sli_query_returns_data(
    maestro: StackRun, traffic: Sent, spec: str, path: tuple[object, ...], expr: str
) -> None:
    samples = maestro.prometheus.wait_for(expr, _finite, timeout=20)
    assert _finite(samples), f"{spec} {path}: no data for {expr}: {samples}"


def test_run_outcomes_are_counted_once_each(maestro: StackRun, traffic: Sent) -> None:
    # Only the executor counts runs: the total equals the runs created, the failures the runs
    # that asked to fail (no DB fault yet), so the spec's sum() is not doubled.
    assert _value(maestro, RUNS) == traffic.runs
    assert _value(maestro, FAILED_RUNS) == traffic.failing
    ratio = _value(maestro, _spec_error_ratio("run-success"))
    assert abs(ratio - traffic.failing / traffic.runs) < 0.1, ratio


def test_reset_peer_on_the_api_database_edge_fails_that_share_of_requests(
    maestro: StackRun, traffic: Sent
) -> None:
    url = maestro.url("maestro-api")
    total0, errors0 = _value(maestro, API_REQUESTS), _value(maestro, API_ERRORS)
    fault = maestro.faults.apply_toxic(maestro.toxiproxy_url, "maestro-api-postgres", RESET_30)
    try:
        during = _drive(url, rounds=30, seconds=45)
    finally:
        maestro.faults.remove(fault)
    total1 = _scraped(maestro, API_REQUESTS, total0 + during.requests)
    errors1 = _value(maestro, API_ERRORS)
    ratio = (errors1 - errors0) / (total1 - total0)
    print(f"maestro: reset_peer 0.3 on maestro-api-postgres -> error ratio {ratio:.3f}")
    assert 0.15 <= ratio <= 0.45, ratio
    # The documents' SLIs see it: 000's availability (5m) drops, 001's DB errors appear.
    assert _value(maestro, DOCUMENT_000[0]) < 0.97
    assert _value(maestro, _spec_error_ratio("database-availability")) > 0.01

    after = _drive(url, rounds=15, seconds=30)
    total2 = _scraped(maestro, API_REQUESTS, total1 + after.requests)
    recovered = (_value(maestro, API_ERRORS) - errors1) / (total2 - total1)
    print(f"maestro: after removal -> error ratio {recovered:.3f}")
    assert recovered <= 0.02, recovered


def test_reset_peer_on_the_executor_edge_fails_runs(maestro: StackRun, traffic: Sent) -> None:
    # 001's run success: a run whose outcome cannot be written fails; a failed claim waits.
    url = maestro.url("maestro-api")
    runs0, failed0 = _value(maestro, RUNS), _value(maestro, FAILED_RUNS)
    fault = maestro.faults.apply_toxic(maestro.toxiproxy_url, "maestro-executor-postgres", RESET_30)
    try:
        sent = _drive(url, rounds=40, seconds=40)
        runs1 = _scraped(maestro, RUNS, runs0 + sent.runs)
    finally:
        maestro.faults.remove(fault)
    ratio = (_value(maestro, FAILED_RUNS) - failed0) / (runs1 - runs0)
    print(f"maestro: reset_peer 0.3 on maestro-executor-postgres -> run failure ratio {ratio:.3f}")
    assert 0.1 <= ratio <= 0.5, ratio


def test_a_frozen_database_edge_answers_503_before_the_client_gives_up(
    maestro: StackRun, traffic: Sent
) -> None:
    # Toxiproxy's timeout toxic (0: never closes) freezes the edge: no answer, no reset. The
    # API's own deadline (refsvc.DEPENDENCY_TIMEOUT, 1 s) must turn that into a prompt 503.
    url = f"{maestro.url('maestro-api')}{API}/pipelines/build"
    freeze = Toxic(name="freeze", attributes=TimeoutAttributes(timeout=0))
    fault = maestro.faults.apply_toxic(maestro.toxiproxy_url, "maestro-api-postgres", freeze)
    try:
        timed = []
        for _ in range(3):
            started = time.monotonic()
            code = httpx.get(url, timeout=5.0, trust_env=False).status_code
            timed.append((code, time.monotonic() - started))
    finally:
        maestro.faults.remove(fault)
    assert all(code == 503 and seconds < 2.5 for code, seconds in timed), timed
    assert httpx.get(url, timeout=5.0, trust_env=False).status_code == 200


def test_schemathesis_finds_nothing(maestro: StackRun, tmp_path: Path) -> None:
    run_schemathesis(f"{maestro.url('maestro-api')}/openapi.json", tmp_path, max_examples=20)
