"""The chaos commands end to end (dry runs against the simulated stack): outputs, files, exit codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.chaos_support import BELOW, FAST_BURN
from tests.conftest import Result

Run = Callable[..., Result]


def test_a_dry_run_passes_and_writes_the_journal_and_every_report(
    run_cli: Run, tmp_path: Path
) -> None:
    result = run_cli("chaos", "run", FAST_BURN, BELOW, "--dry-run", "--out", tmp_path / "run")
    assert result.code == 0, result.out + result.err
    assert "fired after" in result.out and "deadline" in result.out
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["journal.jsonl", "junit.xml", "report.html", "report.json", "report.md"]


def test_an_experiment_written_to_be_wrong_exits_1(run_cli: Run, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(FAST_BURN.read_text().replace("toxicity: 0.3", "toxicity: 0.01"))
    result = run_cli("chaos", "run", wrong, "--dry-run", "--out", tmp_path / "run")
    assert result.code == 1, result.out + result.err
    assert "cannot fire" in result.out


def test_an_experiment_with_no_measurement_is_inconclusive_exit_3(
    run_cli: Run, tmp_path: Path
) -> None:
    short = tmp_path / "short.yaml"
    short.write_text(FAST_BURN.read_text().replace("duration: 20m", "duration: 1m"))
    result = run_cli("chaos", "run", short, "--dry-run", "--out", tmp_path / "run")
    assert result.code == 3, result.out + result.err
    assert "inconclusive" in result.out


def test_a_malformed_experiment_exits_2_with_its_location(run_cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FAST_BURN.read_text().replace("time_scale: 60", "time_scal: 60"))
    result = run_cli("chaos", "run", bad, "--dry-run")
    assert result.code == 2
    assert f"{bad}:10: time_scal: unknown field 'time_scal'" in result.err
    assert "did you mean 'time_scale'" in result.err
    assert "Traceback" not in result.err


def test_an_unknown_scenario_or_synthetic_file_exits_2_located(
    run_cli: Run, tmp_path: Path
) -> None:
    # A misspelt scenario used to fall back silently to a generic load off the SLIs' paths.
    bad = tmp_path / "bad.yaml"
    bad.write_text(FAST_BURN.read_text().replace("scenario: maestro", "scenario: maestro-api"))
    result = run_cli("chaos", "run", bad, "--dry-run")
    assert result.code == 2, result.out + result.err
    assert f"{bad}:13: traffic.scenario: no scenario 'maestro-api'" in result.err
    assert "did you mean 'maestro'" in result.err
    probes = tmp_path / "probes.yaml"
    probes.write_text(
        FAST_BURN.read_text().replace("users: 10", "users: 10\n  probes: [maestro, nope]")
    )
    result = run_cli("chaos", "run", probes, "--dry-run")
    assert result.code == 2, result.out + result.err
    assert "traffic.probes[1]: no synthetic file 'nope'" in result.err
    assert "Traceback" not in result.err


def test_report_re_renders_from_the_journal(run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("chaos", "run", BELOW, "--dry-run", "--out", tmp_path / "run").code == 0
    (tmp_path / "run" / "report.md").unlink()
    result = run_cli("report", tmp_path / "run", "--format", "md")
    assert result.code == 0, result.err
    assert "## availability-below-threshold" in (tmp_path / "run" / "report.md").read_text()
    assert run_cli("report", tmp_path / "nothing").code == 2


def _coverage_rows(out: str) -> dict[str, str]:
    """Each alert's row of the coverage table, its wrapped lines joined (cells wrap)."""
    rows: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃").split("│")]
        if len(cells) < 4:
            current = None
            continue
        if cells[0]:  # a row's first line names its stack; continuation lines do not
            current = rows.setdefault(cells[1], [])
        if current is not None:
            current.extend(cells)
    return {alert: " ".join(cells) for alert, cells in rows.items()}


def test_verify_prints_the_coverage_table_and_flags_missing_proofs(
    run_cli: Run, tmp_path: Path
) -> None:
    result = run_cli("verify", "maestro", "--dry-run", env={"SLOVERIFY_RUNS": str(tmp_path)})
    assert result.code in (0, 1), result.out + result.err
    rows = _coverage_rows(result.out)
    fast = rows["MaestroApiAvailabilityFastBurn"]
    assert "availability-fast-burn" in fast and "availability-below-threshold" in fast
    # A MISSING cell fails the run (exit 1) even when every experiment passed.
    if any("MISSING" in row for row in rows.values()):
        assert result.code == 1
    assert run_cli("verify", "nosuchstack").code == 2


def test_a_fault_on_an_edge_the_stack_lacks_is_located(run_cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "edge.yaml"
    bad.write_text(
        FAST_BURN.read_text().replace("edge: maestro-api-postgres", "edge: maestro-api-postgre")
    )
    result = run_cli("chaos", "run", bad, "--dry-run")
    assert result.code == 2, result.out + result.err
    assert f"{bad}:18: faults[0].edge: no edge 'maestro-api-postgre'" in result.err
    assert "did you mean 'maestro-api-postgres'" in result.err
