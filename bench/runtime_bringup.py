"""Bring-up and teardown of every embedded component together, warm and cold.

Run: .venv/bin/python bench/runtime_bringup.py [--rounds 3] [--cold-cache]

- reference: spawning and reaping `true` 20 times, measured in the same process, so the other
  figures read as ratios that compare across machines;
- warm bootstrap: `ci/bootstrap` when everything is cached (what every README command pays);
- cold bootstrap (--cold-cache): `ci/bootstrap` with an empty per-user cache and Go build
  cache (rebuilds promql-inspect and FerretDB, reinstalls Toxiproxy, recopies Kafka's jars;
  the Go module and Maven caches stay warm, as on any machine that built once);
- bring-up: a fresh run folder (initdb, Kafka storage format) until every component is ready;
- teardown: stopping all of them in reverse order until no process is left.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sloverify.adapters.runtime.components import RunContext, core_components  # noqa: E402
from sloverify.adapters.runtime.registry import RunDir  # noqa: E402
from sloverify.adapters.runtime.supervisor import Supervisor  # noqa: E402
from sloverify.adapters.tools import Tools  # noqa: E402


def reference() -> float:
    start = time.perf_counter()
    for _ in range(20):
        subprocess.run(["true"], check=True)
    return (time.perf_counter() - start) / 20


def bootstrap(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(ROOT / "ci" / "bootstrap")], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def bring_up_and_down(root: Path) -> tuple[float, float]:
    run = RunDir.create(root)
    sup = Supervisor(RunContext(run, Tools.load(), Fraction(60)), core_components())
    start = time.perf_counter()
    sup.start()
    up = time.perf_counter() - start
    start = time.perf_counter()
    sup.stop()
    down = time.perf_counter() - start
    return up, down


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cold-cache", action="store_true", help="also time a bootstrap from an empty cache"
    )
    args = parser.parse_args()

    ref = reference()
    print(f"reference: spawn+reap `true` = {ref * 1000:.2f} ms")
    bootstrap(dict(os.environ))  # prime: a changed pyproject.toml would reinstall the venv
    warm = bootstrap(dict(os.environ))
    print(f"bootstrap, warm cache: {warm:.2f} s  ({warm / ref:,.0f}x reference)")
    if args.cold_cache:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "XDG_CACHE_HOME": cache, "GOCACHE": f"{cache}/go-build"}
            cold = bootstrap(env)
        print(
            f"bootstrap, cold cache: {cold:.2f} s  ({cold / ref:,.0f}x reference, {cold / warm:,.0f}x warm)"
        )
        bootstrap(dict(os.environ))  # leave the manifest pointing at the real cache

    ups, downs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            up, down = bring_up_and_down(Path(tmp) / f"r{i}")
            ups.append(up)
            downs.append(down)
            print(f"round {i + 1}: bring-up {up:.2f} s, teardown {down:.2f} s")
    up_m, down_m = statistics.median(ups), statistics.median(downs)
    print(
        f"bring-up of all 7 components (fresh run folder), median of {args.rounds}: {up_m:.2f} s "
        f"({up_m / ref:,.0f}x reference)"
    )
    print(
        f"teardown, median: {down_m:.2f} s ({down_m / ref:,.0f}x reference; bring-up/teardown {up_m / down_m:.1f})"
    )


if __name__ == "__main__":
    main()
