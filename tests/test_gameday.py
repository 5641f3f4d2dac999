"""``sloverify gameday``: the plan's located errors, and dry runs against the simulated stack.

Each file in tests/data/malformed_gamedays starts with ``# expect: line=<N> contains=<text>``.
The dry runs answer the confirmations on stdin as a person would, and read the journal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sloverify._exceptions import SpecError
from sloverify.cli.gameday import load_steps
from tests.chaos_support import BELOW, FAST_BURN
from tests.conftest import DATA, ROOT, Result
from tests.malformed_support import assert_rejected_as_it_says, corpus

Run = Callable[..., Result]
CORPUS = DATA / "malformed_gamedays"
FILES = corpus(CORPUS)
EXAMPLES = sorted((ROOT / "chaos" / "gameday").glob("*.yaml"))


def _plan(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(f"version: sloverify/v1\nkind: gameday\nname: test-day\n{body}")
    return path


def _journal(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "journal.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines if x]


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


TWO_STEPS = f"""time_scale: 10
guard: [{{slo: availability, max_burn_rate: 500}}]
steps:
  - experiment: {BELOW}
    confirm: "step one injects 1% errors"
    announce: {{fault: "one is on"}}
  - experiment: {FAST_BURN}
    confirm: "step two pages"
"""


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_malformed_plan_is_rejected_with_a_located_error(path: Path) -> None:
    assert_rejected_as_it_says(path, load_steps)


def test_an_inline_experiment_error_names_its_field_in_the_plan() -> None:
    with pytest.raises(SpecError) as info:
        load_steps(CORPUS / "inline_bad_fault_kind.yaml")
    assert info.value.location.field == "steps[0].experiment.faults[0].kind"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_shipped_plan_loads_at_its_own_time_scale(path: Path) -> None:
    loaded, steps = load_steps(path)
    assert steps and all(s.plan.scale == loaded.gameday.time_scale for s in steps)
    assert all(s.plan.guards for s in steps)


def test_confirmed_steps_run_and_pass(run_cli: Run, tmp_path: Path) -> None:
    plan = _plan(tmp_path, TWO_STEPS)
    result = run_cli("gameday", plan, "--dry-run", "--out", tmp_path / "run", input="y\nyes\n")
    assert result.code == 0, result.out + result.err
    assert ">> one is on" in result.out and "burn 300x" in result.out
    assert "MaestroApiAvailabilityFastBurn (page) firing" in result.out
    events = _journal(tmp_path / "run")
    assert [(c["step"], c["answer"], c["by"]) for c in _of(events, "confirmed")] == [
        (1, True, "operator"),
        (2, True, "operator"),
    ]
    assert [e["scale"] for e in _of(events, "experiment_planned")] == ["10", "10"]
    assert _of(events, "run_finished")[0]["stopped"] == ""
    assert (tmp_path / "run" / "report.md").is_file()


def test_a_step_answered_no_stops_the_day_cleanly(run_cli: Run, tmp_path: Path) -> None:
    plan = _plan(tmp_path, TWO_STEPS)
    result = run_cli("gameday", plan, "--dry-run", "--out", tmp_path / "run", input="y\nn\n")
    assert result.code == 3, result.out + result.err
    assert "game day stopped" in result.out
    events = _journal(tmp_path / "run")
    assert [c["answer"] for c in _of(events, "confirmed")] == [True, False]
    # Step 2 never started: nothing planned or applied for it; step 1's faults all came off.
    assert [e["experiment"] for e in _of(events, "experiment_planned")] == [
        "availability-below-threshold"
    ]
    assert len(_of(events, "fault_applied")) == len(_of(events, "fault_removed")) == 1
    finished = _of(events, "run_finished")[0]
    assert "step 2 (availability-fast-burn) was not confirmed" in finished["stopped"]
    assert finished["status"] == "inconclusive"


def test_no_answer_is_a_no_and_yes_skips_every_question(run_cli: Run, tmp_path: Path) -> None:
    plan = _plan(tmp_path, TWO_STEPS)
    silent = run_cli("gameday", plan, "--dry-run", "--out", tmp_path / "a", input="")
    assert silent.code == 3, silent.out + silent.err
    assert not _of(_journal(tmp_path / "a"), "experiment_planned")
    auto = run_cli("gameday", plan, "--dry-run", "--yes", "--out", tmp_path / "b", input="")
    assert auto.code == 0, auto.out + auto.err
    assert {c["by"] for c in _of(_journal(tmp_path / "b"), "confirmed")} == {"--yes"}


def test_the_guard_aborts_a_step_and_stops_the_day(run_cli: Run, tmp_path: Path) -> None:
    # A 30% error ratio burns at 300x the 99.9% budget: over the plan's 50x, the guard trips.
    body = TWO_STEPS.replace("max_burn_rate: 500", "max_burn_rate: 50")
    body = body.replace(str(BELOW), "FIRST").replace(str(FAST_BURN), str(BELOW))
    plan = _plan(tmp_path, body.replace("FIRST", str(FAST_BURN)))
    result = run_cli("gameday", plan, "--dry-run", "--yes", "--out", tmp_path / "run")
    assert result.code == 3, result.out + result.err
    events = _journal(tmp_path / "run")
    tripped = _of(events, "guard_tripped")
    assert len(tripped) == 1 and tripped[0]["burn_rate"] > 50 and tripped[0]["limit"] == 50
    removed = _of(events, "fault_removed")
    assert len(removed) == 1 and removed[0]["at"] >= tripped[0]["at"]
    assert [e["experiment"] for e in _of(events, "experiment_planned")] == [
        "availability-fast-burn"
    ]
    assert {v["verdict"]["status"] for v in _of(events, "verdict")} == {"inconclusive"}
    assert "the guard tripped" in _of(events, "run_finished")[0]["stopped"]


def test_ctrl_c_at_a_confirmation_exits_130_with_the_journal_closed(tmp_path: Path) -> None:
    plan = _plan(tmp_path, TWO_STEPS)
    folder = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "sloverify", "gameday", str(plan), "--dry-run"]
    proc = subprocess.Popen(
        [*command, "--out", str(folder)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write("y\n")
    proc.stdin.flush()
    journal = folder / "journal.jsonl"
    # Bounded wait for step 2's question: its step_started is journaled before it is asked.
    for _ in range(600):
        if journal.is_file() and '"step":2' in journal.read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    events = _journal(folder)
    finished = _of(events, "run_finished")[0]
    assert finished["interrupted"] and "Ctrl-C" in finished["stopped"]
    assert len(_of(events, "fault_applied")) == len(_of(events, "fault_removed"))
