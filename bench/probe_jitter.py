"""The probe scheduler's start-time jitter at 1,000 probes per minute.

Run: flock /tmp/sloverify-live.lock .venv/bin/python bench/probe_jitter.py [--probes 1000]
     [--interval 60] [--seconds 120]

A synthetic file of N uptime probes on the tiny service, every one on the same interval
(default: 1,000 probes a minute), loaded and planned the way ``sloverify probe`` does, then
run by the real scheduler for a while. Lateness is each start's time minus its due time on
the event loop's clock (``ProbeScheduler.lateness``): p50, p99 and max, beside the loop's
own floor measured first in the same process (an asyncio.sleep(0.001) overshoot), so the
figures read against this machine's timer resolution.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sloverify.adapters.probe_scheduler import ProbeScheduler  # noqa: E402
from sloverify.adapters.probes import plan  # noqa: E402
from sloverify.spec.synthetic import load_synthetic  # noqa: E402
from tests.traffic_support import tiny_service  # noqa: E402


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _sleep_floor(rounds: int = 500) -> list[float]:
    loop = asyncio.get_running_loop()
    out = []
    for _ in range(rounds):
        due = loop.time() + 0.001
        await asyncio.sleep(0.001)
        out.append(loop.time() - due)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=60, help="seconds")
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    floor = asyncio.run(_sleep_floor())
    with (
        tempfile.TemporaryDirectory(prefix="sloverify-bench-") as tmp,
        tiny_service(Path(tmp)) as svc,
    ):
        file = Path(tmp) / "many.yaml"
        lines = [
            "version: sloverify/v1", "kind: synthetic", "stack: bench",
            f"interval: {args.interval}s", "timeout: 5s", "probes:",
        ]  # fmt: skip
        lines += [f"  - {{name: up-{i}, kind: uptime, target: tiny}}" for i in range(args.probes)]
        file.write_text("\n".join(lines) + "\n")
        scheduler = ProbeScheduler(plan(load_synthetic(file), {"tiny": svc.url}, Fraction(1)))
        started = time.perf_counter()
        asyncio.run(scheduler.run(max_seconds=args.seconds))
        wall = time.perf_counter() - started
    late = [x * 1000 for x in scheduler.lateness]
    results = Counter(r.value for (_, r), n in scheduler.counts.items() for _ in range(n))
    per_minute = args.probes * 60 / args.interval
    print(
        f"{args.probes} probes every {args.interval}s ({per_minute:.0f} starts a minute), "
        f"{args.seconds:g}s: {len(late)} starts in {wall:.1f}s; results {dict(results)}"
    )
    print(
        f"start lateness ms: p50 {_quantile(late, 0.5):.2f}  p99 {_quantile(late, 0.99):.2f}  "
        f"max {max(late):.2f}  mean {statistics.fmean(late):.2f}"
    )
    ms = [x * 1000 for x in floor]
    print(
        f"loop floor (sleep 1 ms overshoot) ms: p50 {_quantile(ms, 0.5):.2f}  "
        f"p99 {_quantile(ms, 0.99):.2f}  max {max(ms):.2f}"
    )


if __name__ == "__main__":
    main()
