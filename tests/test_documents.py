"""The five SLO documents as specs: lint reports each document's mistakes, at its line."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.conftest import DOCUMENT_SPECS, Result

# (spec, lint id, words of the message): every mistake the documents are known to contain.
EXPECTED = [
    (
        "maestro/slo-api.yaml",
        "SLO005",
        "read-latency: the selector also counts POST /api/maestro/v1/runs",
    ),
    (
        "maestro/slo-api.yaml",
        "SLO005",
        "mutating-success: the selector also counts GET /api/maestro/v1/runs",
    ),
    (
        "maestro/slo-api.yaml",
        "SLO005",
        "run-creation-latency: the selector also counts GET /api/maestro/v1/runs",
    ),
    ("maestro/slo-api.yaml", "SLO007", "availability: the SLI fixes its range at [5m]"),
    ("maestro/slo-api.yaml", "SLO003", "MaestroApiAvailabilityFastBurn fires on 5m alone"),
    (
        "maestro/slo-platform.yaml",
        "SLO008",
        "api-latency (99.5% under 0.2) conflicts with maestro-api/read-latency (99% under 0.3",
    ),
    (
        "maestro/slo-platform.yaml",
        "SLO008",
        "api-latency (99.5% under 0.2) conflicts with maestro-api/run-creation-latency (99% under 0.4",
    ),
    (
        "agentmesh/slo.yaml",
        "SLO001",
        "api-success states budget minutes per day = 8.64, but 0.1% of 1,440 minutes is 1.44",
    ),
    (
        "agentmesh/slo.yaml",
        "SLO001",
        "availability states budget minutes per day = 5.04, but 0.05% of 1,440 minutes is 0.72",
    ),
    (
        "agentmesh/slo.yaml",
        "SLO009",
        "AgentMeshAvailabilityBudget50: at the stated 0.01667 events/s",
    ),
    (
        "dvt/slo.yaml",
        "SLO008",
        "completion-latency (99% under 5) conflicts with dvt-engine/plan-persisted",
    ),
    (
        "dvt/slo.yaml",
        "SLO009",
        "DvtEngineErrorRateHigh: at the stated 0.5787 events/s its 10m window sees 347 events",
    ),
    ("dvt/slo.yaml", "SLO003", "DvtEngineErrorRateHigh fires on 10m alone at 10x"),
    (
        "ca3/slo.yaml",
        "SLO006",
        "label 'status' is not emitted by starlette_exporter on starlette_requests_total",
    ),
    (
        "ca3/slo.yaml",
        "SLO006",
        "the document names http_requests_total, but its query selects starlette_requests_total",
    ),
    ("ca3/slo.yaml", "SLO005", "api-availability: the selector also counts GET /metrics"),
    (
        "ca3/slo.yaml",
        "SLO007",
        "api-latency: the query measures over [5m], but the document states a 1h measurement window",
    ),
]

FINDING = re.compile(
    r"^stacks/(?P<file>\S+?):(?P<line>\d+): \S+: (?P<id>SLO\d{3}) (?P<sev>error|warning): (?P<msg>.*)$"
)


@pytest.fixture(scope="module")
def lint_all(run_cli: Callable[..., Result]) -> Result:
    return run_cli("lint", *DOCUMENT_SPECS)


def _findings(result: Result) -> list[dict[str, str]]:
    return [m.groupdict() for line in result.out.splitlines() if (m := FINDING.match(line))]


def test_all_five_documents_are_encoded() -> None:
    names = {p.relative_to("stacks").as_posix() for p in DOCUMENT_SPECS}
    assert names == {
        "maestro/slo-api.yaml",
        "maestro/slo-platform.yaml",
        "agentmesh/slo.yaml",
        "dvt/slo.yaml",
        "ca3/slo.yaml",
        "ca3/slo-corrected.yaml",  # 004's SLO-1 with its SLO005/SLO006 errors fixed
    }


@pytest.mark.parametrize(
    ("spec", "lint_id", "words"), EXPECTED, ids=[f"{s}-{i}" for s, i, _ in EXPECTED]
)
def test_lint_reports_the_documents_mistake(
    lint_all: Result, spec: str, lint_id: str, words: str
) -> None:
    hits = [
        f
        for f in _findings(lint_all)
        if f["file"] == spec and f["id"] == lint_id and words in f["msg"]
    ]
    assert hits, f"no {lint_id} '{words}' in {spec}:\n{lint_all.out}"


def test_every_finding_points_at_a_line_marked_in_the_spec(lint_all: Result) -> None:
    # Each spec marks the mistakes it expects with "LINT <id>" in a comment above the SLO;
    # a finding no comment announces is a false positive (or an undocumented mistake).
    from tests.conftest import STACKS

    for f in _findings(lint_all):
        text = (STACKS / f["file"]).read_text()
        assert re.search(rf"LINT[^\n]*{f['id']}", text), f"unannounced finding: {f}"


def test_lint_exits_1_on_errors_and_counts_them(lint_all: Result) -> None:
    assert lint_all.code == 1
    errors = sum(f["sev"] == "error" for f in _findings(lint_all))
    assert f"{errors} error(s)" in lint_all.out


def test_findings_are_sorted_and_located(lint_all: Result) -> None:
    findings = _findings(lint_all)
    assert len(findings) >= len(EXPECTED)
    keys = [(f["file"], int(f["line"])) for f in findings]
    assert keys == sorted(keys)
