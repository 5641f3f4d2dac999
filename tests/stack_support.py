"""Bring a stack up once per test module, for real, and drive it with bounded traffic."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import httpx
import pytest

from sloverify._exceptions import ToolNotFound
from sloverify.adapters.runtime.stackrun import StackRun
from tests.conftest import BOOTSTRAP

Fixture = Callable[[pytest.TempPathFactory], Iterator[StackRun]]


def stack_fixture(
    stack: str | Path, scale: Fraction = Fraction(60), probes: tuple[Path, ...] = ()
) -> Fixture:
    """A module-scoped fixture running ``stack``; a missing tool fails it with the install step."""

    @pytest.fixture(scope="module")
    def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackRun]:
        root = tmp_path_factory.mktemp("runs")
        try:
            with StackRun.start(stack, scale, runs_root=root, probes=probes) as r:
                yield r
        except ToolNotFound as exc:
            pytest.fail(f"{exc}: {BOOTSTRAP}")

    return run


def drive(url: str, paths: list[str], seconds: float, max_requests: int = 2000) -> list[int]:
    """GET each path in turn until ``seconds`` pass or ``max_requests`` are sent; the codes."""
    codes: list[int] = []
    deadline = time.monotonic() + seconds
    # A fresh connection per request, as the stacks' clients do: a fault on a proxy in front
    # of the service then applies to each request, not to one pooled connection.
    while time.monotonic() < deadline and len(codes) < max_requests:
        for path in paths:
            try:
                codes.append(httpx.get(f"{url}{path}", timeout=5.0, trust_env=False).status_code)
            except httpx.HTTPError:
                codes.append(0)
    return codes


def run_schemathesis(openapi_url: str, folder: Path, max_examples: int, seed: int = 4242) -> int:
    """Fuzz one API from its OpenAPI document with every check; fail on any finding; the cases."""
    tool = Path(sys.executable).parent / "schemathesis"
    assert tool.exists(), f"schemathesis missing from the venv: {BOOTSTRAP}"
    report = folder / "schemathesis.json"
    command = [
        str(tool), "run", openapi_url,
        "--checks", "all",
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--workers", "1",
        "--no-color",
        "--generation-database", "none",
        "--request-timeout", "5",
        "--report", "json",
        "--report-json-path", str(report),
    ]  # fmt: skip
    # cwd: schemathesis keeps a cache folder (.schemathesis/) in its working directory.
    proc = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
    assert report.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = json.loads(report.read_text())
    cases = int(summary["test_cases"]["generated"])
    print(f"schemathesis {openapi_url}: {cases} cases, {len(summary['failures'])} failures")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert summary["failures"] == [] and summary["errors"] == [], proc.stdout[-4000:]
    assert cases > 0
    return cases


def value(run: StackRun, expr: str) -> float:
    """The first sample's value of an instant query, NaN when it returns nothing."""
    samples = run.prometheus.query(expr)
    return samples[0].value if samples else math.nan


def at_least(run: StackRun, expr: str, floor: float, timeout: float = 30.0) -> float:
    """The expression's value once Prometheus reads it at ``floor`` or more (asserted)."""
    samples = run.prometheus.wait_for(
        expr, lambda s: bool(s) and s[0].value >= floor, timeout=timeout
    )
    got = samples[0].value if samples else math.nan
    assert got >= floor, f"{expr}: {got} after {timeout}s, expected >= {floor}"
    return got


def at_most(run: StackRun, expr: str, ceiling: float, timeout: float = 30.0) -> float:
    """The expression's value once Prometheus reads it at ``ceiling`` or less (asserted)."""
    samples = run.prometheus.wait_for(
        expr, lambda s: bool(s) and s[0].value <= ceiling, timeout=timeout
    )
    got = samples[0].value if samples else math.nan
    assert got <= ceiling, f"{expr}: {got} after {timeout}s, expected <= {ceiling}"
    return got


def lint_findings(spec: Path) -> list[tuple[str, str]]:
    """Lint's findings on one spec file, as (id, message) pairs."""
    from sloverify.adapters.promql import GoInspector
    from sloverify.cli.loading import load_all
    from sloverify.rules.lint import LintContext, run_lint

    loaded = load_all([spec], GoInspector())
    return [(f.id, f.message) for f in run_lint(LintContext(loaded.specs, loaded.facts))]


LintTest = Callable[..., object]


def document_lint_tests(
    spec: Path, expected: list[tuple[str, str]]
) -> tuple[LintTest, LintTest, LintTest]:
    """A spec's ``findings`` fixture and its two lint tests: every mistake its ``LINT`` comments
    announce is found, and no other (a false positive or an unknown mistake).

    Bind the three to ``findings`` and ``test_*`` names in the stack's test module.
    """

    @pytest.fixture(scope="module")
    def findings() -> list[tuple[str, str]]:
        return lint_findings(spec)

    @pytest.mark.parametrize(("lint_id", "words"), expected)
    def reports_the_documents_mistake(
        findings: list[tuple[str, str]], lint_id: str, words: str
    ) -> None:
        assert any(i == lint_id and words in m for i, m in findings), findings

    def every_finding_is_announced_by_a_lint_comment(findings: list[tuple[str, str]]) -> None:
        text = spec.read_text(encoding="utf-8")
        assert all(re.search(rf"LINT[^\n]*{i}", text) for i, _ in findings), findings
        assert len(findings) == len(expected), findings

    return findings, reports_the_documents_mistake, every_finding_is_announced_by_a_lint_comment
