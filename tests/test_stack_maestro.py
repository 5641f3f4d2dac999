"""The maestro reference stack (documents 000 and 001): lint findings of its two specs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sloverify.adapters.promql import GoInspector
from sloverify.cli.loading import load_all
from sloverify.rules.lint import LintContext, run_lint
from tests.conftest import STACKS

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
