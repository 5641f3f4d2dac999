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
per stack, each run under the machine lock on its own).
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


def report(run_dir: Path) -> None:
    """Print the per-experiment breakdown and the per-alert timing table of one run folder."""
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    events = [json.loads(x) for x in lines if x.strip()]
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
    rows = _alert_rows(events)
    print(
        f"\n{'experiment':34} {'claim':44} {'what':9} {'measured':>8} {'computed':>8} "
        f"{'ratio':>6} status"
    )
    for name, label, what, got, deadline, status in rows:
        ratio = f"{got / deadline:6.2f}" if got is not None and deadline else "     -"
        shown = f"{got:8.2f}" if got is not None else "       -"
        dl = f"{deadline:8.2f}" if deadline is not None else "       -"
        print(f"{name:34} {label:44} {what:9} {shown} {dl} {ratio} {status}")


def main() -> None:
    """Measure (or read) the suite and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*")
    parser.add_argument("--journal", type=Path, nargs="+", help="read these chaos run folders")
    args = parser.parse_args()
    if args.journal:
        for folder in args.journal:
            print(f"== {folder}")
            report(folder)
        return
    stacks = args.stacks or [s for s in known_stacks() if (ROOT / "chaos" / s).is_dir()]
    files = [p for s in stacks for p in sorted((ROOT / "chaos" / s).glob("*.yaml"))]
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
    report(folder)


if __name__ == "__main__":
    main()
