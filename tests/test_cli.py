"""The CLI end to end, as a user runs it: outputs, files and exit codes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import DATA, DOCUMENT_SPECS, SLOTH_EXAMPLE, Result

Run = Callable[..., Result]


def test_help_teaches_every_command(run_cli: Run) -> None:
    result = run_cli("--help")
    assert result.code == 0
    for command in ("lint", "rules", "explain", "test-rules"):
        assert command in result.out
    assert "Exit codes" in result.out


def test_rules_writes_checked_files_for_every_spec(
    run_cli: Run, tmp_path: Path, promtool: str
) -> None:
    result = run_cli("rules", *DOCUMENT_SPECS, SLOTH_EXAMPLE, "-o", tmp_path / "rules")
    assert result.code == 0, result.err
    files = sorted((tmp_path / "rules").glob("*.rules.yml"))
    assert [f.name for f in files] == [
        "agentmesh-slo.rules.yml",
        "ca3-slo-corrected.rules.yml",
        "ca3-slo.rules.yml",
        "dvt-slo.rules.yml",
        "maestro-slo-api.rules.yml",
        "maestro-slo-platform.rules.yml",
        "sloth-getting-started.rules.yml",
    ]
    for f in files:
        check = subprocess.run(
            [promtool, "check", "rules", f], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr
    sloth = (tmp_path / "rules" / "sloth-getting-started.rules.yml").read_text()
    # Sloth's names, windows and thresholds.
    for name in (
        "slo:sli_error:ratio_rate5m",
        "slo:sli_error:ratio_rate3d",
        "slo:error_budget:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ):
        assert f"record: {name}" in sloth
    assert "> (14.4 * 0.001)" in sloth and "> (1.0 * 0.001)" in sloth
    assert "sloth_severity: page" in sloth and "routing_key: myteam" in sloth


def test_time_scale_divides_windows_for_and_intervals(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("rules", "stacks/ca3/slo.yaml", "-o", tmp_path, "--time-scale", "60")
    assert result.code == 0, result.err
    text = (tmp_path / "ca3-slo.rules.yml").read_text()
    assert "interval: 500ms" in text  # 30s / 60
    assert "for: 5s" in text  # the 5m 'for' of ProcessorAvailabilityBurnRateHigh
    assert "[5m]" not in text and "[5s]" in text  # the document's fixed ranges shrink too
    assert "record: slo:sli_error:ratio_rate1h" in text  # names keep the logical window
    assert "avg_over_time(slo:sli_error:ratio_base" in text and "[1m]" in text  # 1h / 60


def test_sub_second_scaling(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("rules", SLOTH_EXAMPLE, "-o", tmp_path, "--time-scale", "1440")
    assert result.code == 0, result.err
    text = (tmp_path / "sloth-getting-started.rules.yml").read_text()
    assert "[209ms]" in text  # 5m / 1440 = 208.33ms, rounded up to whole milliseconds
    assert "interval: 21ms" in text  # 30s / 1440 = 20.8ms


@pytest.mark.parametrize("scale", ["0", "-3", "fast"])
def test_bad_time_scale_is_a_usage_error(run_cli: Run, tmp_path: Path, scale: str) -> None:
    result = run_cli("rules", SLOTH_EXAMPLE, "-o", tmp_path / "out", "--time-scale", scale)
    assert result.code == 2
    assert "--time-scale" in result.err
    assert not (tmp_path / "out").exists()


def test_bad_spec_writes_nothing(run_cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "rules"
    result = run_cli("rules", SLOTH_EXAMPLE, DATA / "specs" / "bad-promql.yaml", "-o", out)
    assert result.code == 2
    assert not out.exists() or not any(out.iterdir())


def test_invalid_promql_is_located(run_cli: Run) -> None:
    result = run_cli("lint", DATA / "specs" / "bad-promql.yaml")
    assert result.code == 2
    assert re.search(
        r"bad-promql\.yaml:8: slos\[0\]\.sli\.events\.error_query: PromQL does not parse",
        result.err,
    )
    assert "Traceback" not in result.err


def test_explain_gives_the_workbook_figures(run_cli: Run) -> None:
    result = run_cli("explain", SLOTH_EXAMPLE)
    assert result.code == 0, result.err
    page = next(line for line in result.out.splitlines() if "pageteam" in line or "page " in line)
    # 14.4x over 1h at 99.9%: a 100% outage is detected after 51.8s, having spent 2% of the budget.
    assert "51.8s" in page and "2.000%" in page, result.out


def test_explain_covers_every_alert(run_cli: Run) -> None:
    result = run_cli("explain", *DOCUMENT_SPECS)
    assert result.code == 0, result.err
    for name in (
        "MaestroApiAvailabilityFastBurn",
        "AgentMeshAvailabilityBudget100",
        "DvtProjectionGap",
        "ProcessorRestartsHigh",
        "MaestroRunSuccessWarning",
    ):
        assert name in result.out


def test_test_rules_proves_every_document_and_sloth(run_cli: Run) -> None:
    result = run_cli("test-rules", *DOCUMENT_SPECS, SLOTH_EXAMPLE)
    assert result.code == 0, result.out + result.err
    summary = re.search(r"(\d+)/(\d+) alerts proven, (\d+) checks", result.out)
    assert summary is not None, result.out
    proven, total, checks = map(int, summary.groups())
    assert proven == total == 43
    assert checks >= 5 * total
    assert "FAIL" not in result.out


def test_test_rules_fails_an_alert_that_cannot_fire(run_cli: Run) -> None:
    result = run_cli("test-rules", DATA / "specs" / "impossible-burn.yaml")
    assert result.code == 1
    assert (
        "FAIL" in result.out and "CannotFire" in result.out and "cannot be exceeded" in result.out
    )


def test_lint_flags_the_impossible_alert(run_cli: Run) -> None:
    result = run_cli("lint", DATA / "specs" / "impossible-burn.yaml")
    assert result.code == 1
    assert "SLO002" in result.out and "can never fire" in result.out


def test_missing_promtool_says_how_to_install(run_cli: Run, tmp_path: Path) -> None:
    # Only the venv on PATH: promql-inspect is there, promtool (in /usr/bin) is not.
    import sys

    result = run_cli("test-rules", SLOTH_EXAMPLE, env={"PATH": str(Path(sys.executable).parent)})
    assert result.code == 3
    assert "promtool not found" in result.err and "apt-get install prometheus" in result.err


def test_missing_file_is_bad_input(run_cli: Run) -> None:
    result = run_cli("lint", "stacks/nope/slo.yaml")
    assert result.code == 2
    assert "stacks/nope/slo.yaml" in result.err and "file not found" in result.err


def test_load_finds_the_stacks_http_service() -> None:
    from sloverify.cli.traffic import _service_url

    known = {
        "dvt-outbox-relay": "http://127.0.0.1:1",  # metrics only (http: false)
        "dvt-engine": "http://127.0.0.1:2",
        "processor": "http://127.0.0.1:3",
        "producer-1": "http://127.0.0.1:4",
    }
    assert _service_url("dvt", known, None) == "http://127.0.0.1:2"
    assert _service_url("ca3", known, None) == "http://127.0.0.1:3"
    assert _service_url("dvt", known, "dvt-outbox-relay") == "http://127.0.0.1:1"
