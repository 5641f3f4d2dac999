"""Time to verdict for the chaos suite, and each alert's measured fire and reset times.

Run: .venv/bin/python bench/chaos_timing.py [STACK...] [--journal RUN_DIR]

- reference: bringing the stack up and down once (StackRun, no traffic), in the same process,
  so the suite's time to verdict reads as a multiple of one bring-up;
- time to verdict: `sloverify chaos run` over every experiment of the stacks, wall time, and
  per experiment from its journal (first event to its verdicts);
- per alert: measured fire time after the fault started against the computed deadline
  (fire/deadline < 1 is in time), and the reset time after the fault ended against its
  computed reset deadline; all in run seconds at each experiment's time scale.

``--journal RUN_DIR`` skips the run and reads an existing chaos run folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sloverify.adapters.runtime.stackrun import StackRun, known_stacks  # noqa: E402


def reference(stack: str) -> float:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, StackRun.start(stack, Fraction(60), Path(tmp)):
        pass
    return time.perf_counter() - start


def run_suite(stacks: list[str], out: Path) -> float:
    files = [str(p) for s in stacks for p in sorted((ROOT / "chaos" / s).glob("*.yaml"))]
    start = time.perf_counter()
    command = [sys.executable, "-m", "sloverify", "chaos", "run", *files, "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=False)
    return time.perf_counter() - start


def report(run_dir: Path) -> None:
    events = [json.loads(x) for x in (run_dir / "journal.jsonl").read_text().splitlines() if x]
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    rows = []
    for e in events:
        name = e.get("experiment")
        if name is None:
            continue
        first.setdefault(name, e["at"])
        last[name] = e["at"]
        if e["event"] != "verdict":
            continue
        v = e["verdict"]
        values = v["evidence"]["values"]
        if "fired_after" in values:
            rows.append(
                (
                    name,
                    v["label"],
                    values["fired_after"],
                    values["deadline_prometheus"],
                    v["status"],
                )
            )
        if "resolved_after" in values or "deadline_reset" in values:
            rows.append(
                (
                    name,
                    v["label"],
                    values.get("resolved_after"),
                    values.get("deadline_reset"),
                    v["status"],
                )
            )
    print(f"{'experiment':40} {'seconds':>8}")
    for name in first:
        print(f"{name:40} {last[name] - first[name]:8.1f}")
    print(f"\n{'experiment':34} {'claim':46} {'measured':>8} {'deadline':>8} {'ratio':>6} status")
    for name, label, got, deadline, status in rows:
        ratio = f"{got / deadline:6.2f}" if got is not None and deadline else "     -"
        shown = f"{got:8.2f}" if got is not None else "       -"
        dl = f"{deadline:8.2f}" if deadline is not None else "       -"
        print(f"{name:34} {label:46} {shown} {dl} {ratio} {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*")
    parser.add_argument("--journal", type=Path, help="read this chaos run folder instead")
    args = parser.parse_args()
    if args.journal:
        report(args.journal)
        return
    stacks = args.stacks or [s for s in known_stacks() if (ROOT / "chaos" / s).is_dir()]
    ref = reference(stacks[0])
    out = Path(tempfile.mkdtemp(prefix="sloverify-bench-chaos-"))
    total = run_suite(stacks, out)
    print(f"reference: one bring-up and teardown of {stacks[0]}: {ref:.1f}s")
    print(
        f"time to verdict, {', '.join(stacks)}: {total:.1f}s = {total / ref:.1f}x the reference\n"
    )
    report(out)


if __name__ == "__main__":
    main()
