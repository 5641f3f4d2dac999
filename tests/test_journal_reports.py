"""The journal survives a crash mid-write, and every report renders from a recorded journal."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sloverify._exceptions import InputError
from sloverify.adapters.journal import Journal, read_journal, write_atomic
from sloverify.engine.events import Event, ExperimentFinished, RunFinished, RunStarted
from sloverify.reports.render import Format, render
from sloverify.verdicts.model import Status
from tests.chaos_support import BELOW, FAST_BURN, plan_of, run_sim


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal of two simulated experiments: one passes, one written to be wrong fails."""
    path = tmp_path_factory.mktemp("run") / "journal.jsonl"
    events: list[Event] = [RunStarted(at=0.0, run_id="r1", files=("a", "b"))]
    for plan in (plan_of(BELOW), plan_of(FAST_BURN, (("toxicity: 0.3", "toxicity: 0.01"),))):
        events += run_sim(plan)[1]
    events.append(RunFinished(at=1e9, status=Status.FAIL))
    with Journal(path) as journal:
        for ev in events:
            journal.append(ev)
    return path


def test_the_journal_reads_back_every_event(recorded: Path) -> None:
    events = read_journal(recorded)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert sum(isinstance(e, ExperimentFinished) for e in events) == 2


def test_a_torn_last_line_is_dropped_and_the_rest_reads(recorded: Path, tmp_path: Path) -> None:
    whole = recorded.read_bytes()
    torn = tmp_path / "journal.jsonl"
    torn.write_bytes(whole + b'{"at": 5.0, "event": "samp')
    assert len(read_journal(torn)) == len(read_journal(recorded))


def test_damage_in_the_middle_is_a_located_error(recorded: Path, tmp_path: Path) -> None:
    lines = recorded.read_bytes().split(b"\n")
    lines[3] = b"garbage"
    bad = tmp_path / "journal.jsonl"
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"journal.jsonl:4: not a journal event"):
        read_journal(bad)


def test_junit_has_one_case_per_expectation_and_marks_failures(recorded: Path) -> None:
    root = ET.fromstring(render(read_journal(recorded), Format.JUNIT))
    cases = root.findall(".//testcase")
    assert len(cases) == 2 + 4
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "fires MaestroApiAvailabilityFastBurn" in failed
    suite = root.findall("testsuite")[1]
    assert int(suite.get("failures") or 0) >= 1


def test_inconclusive_is_an_error_in_junit(tmp_path: Path) -> None:
    from sloverify.adapters.simulation import SimulatedStack

    plan = plan_of(FAST_BURN)
    _, events, _ = run_sim(plan, SimulatedStack(plan, prometheus_down=True))
    root = ET.fromstring(render(tuple(events), Format.JUNIT))
    errors = root.findall(".//testcase/error")
    assert len(errors) == 4 and {e.get("type") for e in errors} == {"inconclusive"}


def test_markdown_has_the_summary_and_the_burn_rate_context(recorded: Path) -> None:
    md = render(read_journal(recorded), Format.MD)
    assert md.startswith("# sloverify chaos run `r1`: ❌ fail")
    assert "| availability-fast-burn | fires MaestroApiAvailabilityFastBurn | ❌ fail |" in md
    assert "### Burn-rate context" in md
    assert "> 0.0144 (14.4x budget) | 0.01 | 10x |" in md


def test_json_carries_the_verdicts_and_the_measurement(recorded: Path) -> None:
    doc = json.loads(render(read_journal(recorded), Format.JSON))
    assert doc["status"] == "fail"
    fast = doc["experiments"][1]
    assert fast["measured"][0]["error_ratio"] == pytest.approx(0.01)
    assert fast["verdicts"][0]["status"] == "fail"
    assert fast["verdicts"][0]["evidence"]["values"]["measured_error_ratio"] == pytest.approx(0.01)


def test_html_is_self_contained_with_a_chart_per_experiment(recorded: Path) -> None:
    html = render(read_journal(recorded), Format.HTML)
    assert html.count("<svg") == 2
    assert "fault window" in html and "<polyline" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in html and "<link" not in html


def test_a_report_is_never_half_written(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    write_atomic(target, "old\n")

    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
