"""Lint checks that no document happens to trigger, on small specs written for them."""

from __future__ import annotations

from pathlib import Path

from sloverify.adapters.promql import GoInspector
from sloverify.cli.loading import load_all
from sloverify.rules.lint import Finding, LintContext, run_lint

SPEC = """\
version: sloverify/v1
service: svc
endpoints: [GET /a, GET /b, POST /a]
slos:
  - name: avail
    objective: 99.9
    scope: {{endpoints: [GET /a, GET /b]}}
    stated: {{budget_minutes_per_week: 1.44}}
    sli:
      events:
        error_query: sum(rate(req_total{{path="/a",code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(rate(req_total{{path="/a"}}[{{{{.window}}}}]))
    alerting:
      alerts:
        - kind: burn_rate
          name: {name}
          windows: [{{long: 1h, short: {short}, factor: 14.4}}]
"""


def _lint(tmp_path: Path, name: str = "Pair", short: str = "5m") -> list[Finding]:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(name=name, short=short))
    loaded = load_all([path], GoInspector())
    return run_lint(LintContext(loaded.specs, loaded.facts))


def _ids(findings: list[Finding]) -> list[str]:
    return [f.id for f in findings]


def test_workbook_ratio_is_quiet(tmp_path: Path) -> None:
    assert "SLO004" not in _ids(_lint(tmp_path, short="5m"))


def test_short_window_too_long_is_flagged(tmp_path: Path) -> None:
    [finding] = [f for f in _lint(tmp_path, short="30m") if f.id == "SLO004"]
    assert "1/2" in finding.message and finding.location.line == 15


def test_selector_that_misses_part_of_the_scope_and_counts_beyond_it(tmp_path: Path) -> None:
    scope = [f for f in _lint(tmp_path) if f.id == "SLO005"]
    [missed] = [f for f in scope if "misses" in f.message]
    [extra] = [f for f in scope if "also counts" in f.message]
    assert "misses GET /b" in missed.message
    assert "also counts POST /a" in extra.message and 'method=~"GET"' in extra.hint
    assert missed.location.line == extra.location.line == 12  # total_query


def test_weekly_budget_arithmetic(tmp_path: Path) -> None:
    [finding] = [f for f in _lint(tmp_path) if f.id == "SLO001"]
    assert "0.1% of 10,080 minutes is 10.08" in finding.message
