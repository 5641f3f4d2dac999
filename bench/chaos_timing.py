"""Time to verdict for the chaos suite, and each alert's measured fire and reset times.

Run: .venv/bin/python bench/chaos_timing.py [STACK...] [--journal RUN_DIR...]

- reference: bringing the first stack up and down once (StackRun, no traffic), in the same
  process, so the suite's time to verdict reads as a multiple of one bring-up;
- time to verdict: `sloverify verify STACK...` (every experiment in chaos/<stack>/, whatever
  exists when it runs), wall time, then per experiment from its journal: wall time, of which
  stack bring-up, warm-up (backfill, then the engine's own warm-up watch), fault, recovery
  (expectations and recovery phases) and teardown;
- per alert: measured fire time after the fault started against the computed deadline (at
  Prometheus and at the receiver), and the reset time after the fault ended against its
  computed reset deadline; ratio = measured / computed (< 1 is in time); all in run seconds
  at each experiment's time scale.

``--journal RUN_DIR...`` skips the runs and reads finished chaos run folders (for example one
per stack, each run under the machine lock on its own); ``--latest`` reads, for each
experiment file of the stacks, the newest live run under $SLOVERIFY_RUNS that passed it. Both
end with the suite's total: time to verdict, and the logical time its experiments stand for.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sloverify.adapters.runtime.registry import runs_root  # noqa: E402
from sloverify.adapters.runtime.stackrun import StackRun, known_stacks  # noqa: E402

# Phase boundaries, in the order the engine emits them; a part's time runs from one to the next.
_PARTS = (
    ("warm-up", "warm-up", "baseline"),
    ("fault", "fault", "expectations"),
    ("recovery", "expectations", "teardown"),
)


def reference(stack: str) -> float:
    """Seconds to bring a stack up and down once, in this process."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, StackRun.start(stack, Fraction(60), Path(tmp)):
        pass
    return time.perf_counter() - start


def run_verify(stacks: list[str], runs: Path) -> tuple[float, int, Path | None]:
    """`sloverify verify STACK...` with its runs under ``runs``: wall time, exit code, run folder."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "sloverify", "verify", *stacks]
    env = {**os.environ, "SLOVERIFY_RUNS": str(runs)}
    proc = subprocess.run(command, cwd=ROOT, env=env, check=False)
    wall = time.perf_counter() - start
    folders = sorted(runs.glob("chaos-*"), key=lambda p: p.stat().st_mtime)
    return wall, proc.returncode, folders[-1] if folders else None


@dataclass
class _Exp:
    """One experiment's moments, from its journal events."""

    name: str
    stages: dict[str, float] = field(default_factory=dict)  # stack stage -> at
    phases: dict[str, float] = field(default_factory=dict)  # phase -> at
    first: float = 0.0
    last: float = 0.0
    status: str = "?"
    scale: float = 1.0  # the experiment's time scale k
    file: str = ""

    def span(self, a: str, b: str) -> float | None:
        if a in self.phases and b in self.phases:
            return self.phases[b] - self.phases[a]
        return None

    def breakdown(self) -> dict[str, float | None]:
        s, p = self.stages, self.phases
        start = s.get("starting", self.first)
        end = s.get("down", self.last)
        up = s["up"] - s["starting"] if {"up", "starting"} <= s.keys() else None
        backfill = s["warm"] - s["up"] if {"warm", "up"} <= s.keys() else None
        out: dict[str, float | None] = {"wall": end - start, "bring-up": up, "backfill": backfill}
        for name, a, b in _PARTS:
            out[name] = self.span(a, b)
        out["teardown"] = end - p["teardown"] if "teardown" in p else None
        return out


def _experiments(events: list[dict[str, Any]]) -> list[_Exp]:
    exps: dict[str, _Exp] = {}
    for e in events:
        name = e.get("experiment")
        if name is None:
            continue
        x = exps.setdefault(name, _Exp(name, first=e["at"]))
        x.last = e["at"]
        if e["event"] == "stack_changed":
            x.stages[e["stage"]] = e["at"]
        elif e["event"] == "phase_started":
            x.phases.setdefault(e["phase"], e["at"])
        elif e["event"] == "experiment_planned":
            x.scale, x.file = float(Fraction(e["scale"])), e["file"]
        elif e["event"] == "experiment_finished":
            x.status = e["status"]
    return list(exps.values())


def _alert_rows(events: list[dict[str, Any]]) -> list[tuple[str, str, str, Any, Any, str]]:
    rows = []
    for e in events:
        if e["event"] != "verdict":
            continue
        v, name = e["verdict"], e["experiment"]
        values = v["evidence"]["values"]
        if "deadline_prometheus" in values:
            rows.append(
                (
                    name,
                    v["label"],
                    "fire@prom",
                    values.get("fired_after"),
                    values["deadline_prometheus"],
                    v["status"],
                )
            )
            if values.get("deadline_receiver") is not None:
                rows.append(
                    (
                        name,
                        v["label"],
                        "fire@recv",
                        values.get("notified_after"),
                        values["deadline_receiver"],
                        v["status"],
                    )
                )
        if "deadline_reset" in values:
            rows.append(
                (
                    name,
                    v["label"],
                    "reset",
                    values.get("resolved_after"),
                    values["deadline_reset"],
                    v["status"],
                )
            )
    return rows


def _s(v: float | None, width: int = 8) -> str:
    return f"{v:{width}.1f}" if v is not None else " " * (width - 1) + "-"


def _events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines if x.strip()]


def report(run_dirs: list[Path]) -> None:
    """Print the per-experiment breakdown and the per-alert timing table of run folders."""
    events = [e for d in run_dirs for e in _events(d)]
    exps = _experiments(events)
    cols = ("wall", "bring-up", "backfill", "warm-up", "fault", "recovery", "teardown")
    print(f"{'experiment (seconds)':44} " + " ".join(f"{c:>8}" for c in cols) + "  status")
    totals = dict.fromkeys(cols, 0.0)
    for x in exps:
        b = x.breakdown()
        for c in cols:
            totals[c] += b[c] or 0.0
        print(f"{x.name:44} " + " ".join(_s(b[c]) for c in cols) + f"  {x.status}")
    print(f"{'total':44} " + " ".join(_s(totals[c]) for c in cols))
    _suite(exps, totals["wall"], totals["bring-up"])
    rows = _alert_rows(events)
    print(
        f"\n{'experiment':34} {'claim':44} {'what':9} {'measured':>8} {'computed':>8} "
        f"{'ratio':>6} status"
    )
    ratios = []
    for name, label, what, got, deadline, status in rows:
        ratio = f"{got / deadline:6.2f}" if got is not None and deadline else "     -"
        if got is not None and deadline:
            ratios.append(got / deadline)
        shown = f"{got:8.2f}" if got is not None else "       -"
        dl = f"{deadline:8.2f}" if deadline is not None else "       -"
        print(f"{name:34} {label:44} {what:9} {shown} {dl} {ratio} {status}")
    if ratios:
        ratios.sort()
        print(
            f"\nmeasured / computed over {len(ratios)} fire and reset times: "
            f"median {ratios[len(ratios) // 2]:.2f}, max {ratios[-1]:.2f} (< 1 is in time)"
        )


def _suite(exps: list[_Exp], wall: float, bring_up: float) -> None:
    # What the suite stands for: each experiment's run time at its own scale is logical time,
    # the hours and days of alert windows a real-time run would wait through.
    logical = sum((x.breakdown()["wall"] or 0.0) * x.scale for x in exps)
    passed = sum(x.status == "pass" for x in exps)
    print(
        f"\nsuite: {len(exps)} experiments ({passed} pass), time to verdict {wall / 60:.1f} min "
        f"= {wall / bring_up:.1f}x their stack bring-ups ({bring_up:.0f}s); they stand for "
        f"{logical / 86400:.1f} days of logical time, {logical / wall:.0f}x real time"
        if wall and bring_up
        else "\nsuite: no complete experiment"
    )


def _tail(file: str) -> str:
    return "/".join(Path(file).parts[-3:])  # chaos/<stack>/<name>.yaml, from any worktree


def latest_passes(runs: Path, files: list[Path]) -> list[Path]:
    """For each experiment file, the newest live run folder under ``runs`` that passed it."""
    wanted = {_tail(str(f)) for f in files}
    best: dict[str, tuple[float, Path]] = {}
    for folder in runs.glob("chaos-*"):
        try:
            events = _events(folder)
        except (OSError, ValueError):
            continue  # a run still writing, or not a chaos run
        if not events or events[0].get("dry_run", True) or events[-1]["event"] != "run_finished":
            continue
        started = events[0]
        if len(started["files"]) != 1 or _tail(started["files"][0]) not in wanted:
            continue
        if events[-1]["status"] != "pass":
            continue
        key = _tail(started["files"][0])
        if key not in best or started["at"] > best[key][0]:
            best[key] = (started["at"], folder)
    missing = sorted(wanted - best.keys())
    if missing:
        print("no passing live run of: " + ", ".join(missing))
    return [best[k][1] for k in sorted(best)]


def main() -> None:
    """Measure (or read) the suite and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*")
    parser.add_argument("--journal", type=Path, nargs="+", help="read these chaos run folders")
    parser.add_argument(
        "--latest",
        action="store_true",
        help="read the newest passing live run of each experiment file under $SLOVERIFY_RUNS",
    )
    args = parser.parse_args()
    stacks = args.stacks or [s for s in known_stacks() if (ROOT / "chaos" / s).is_dir()]
    files = [p for s in stacks for p in sorted((ROOT / "chaos" / s).glob("*.yaml"))]
    if args.journal or args.latest:
        folders = args.journal or latest_passes(runs_root(), files)
        print(f"{len(folders)} run folders")
        report(folders)
        return
    ref = reference(stacks[0])
    runs = Path(tempfile.mkdtemp(prefix="sloverify-bench-chaos-"))
    total, code, folder = run_verify(stacks, runs)
    print(f"\nreference: one bring-up and teardown of {stacks[0]}: {ref:.1f}s")
    print(
        f"time to verdict, `sloverify verify {' '.join(stacks)}` ({len(files)} experiments, "
        f"exit {code}): {total:.1f}s = {total / ref:.1f}x the reference\n"
    )
    if folder is None:
        print("no run folder: verify ran no experiment")
        return
    print(f"run folder: {folder}")
    report([folder])


if __name__ == "__main__":
    main()
