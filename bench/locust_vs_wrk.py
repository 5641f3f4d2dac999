"""Locust's achieved request rate per core against wrk's, on the same endpoint, in one run.

Run: flock /tmp/sloverify-live.lock .venv/bin/python bench/locust_vs_wrk.py [--seconds 10]
     [--connections 10] [--path /health]

One target (the traffic tests' tiny service, uvicorn), then, one after the other: wrk (1
thread, N connections), locust with sloverify's HttpUser (N users, no pacing) and locust's
FastHttpUser. Each generator is one process; its CPU time comes from getrusage of the
reaped child, so "requests per CPU-second" is its rate per core whatever the target manages
(a generator that waits on a saturated target uses little CPU). The ratio of locust's to
wrk's requests per CPU-second is the figure that compares across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sloverify.adapters.tools import Tool, Tools  # noqa: E402
from tests.traffic_support import tiny_service  # noqa: E402


@dataclass(frozen=True)
class Measured:
    name: str
    requests: int
    failures: int
    wall: float
    cpu: float

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    @property
    def per_cpu_second(self) -> float:
        return self.requests / self.cpu if self.cpu else 0.0


def _child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[str, float, float]:
    """Run a command to its end; its output, wall time and CPU time (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.stdout + proc.stderr, wall, cpu


def run_wrk(url: str, seconds: int, connections: int) -> Measured:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is missing: apt-get install wrk (Debian's package)")
    out, wall, cpu = _child([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", url])
    done = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if done is None:
        sys.exit(f"cannot read wrk's output:\n{out}")
    failures = int(errors.group(1)) if errors else 0
    failures += sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    return Measured("wrk (1 thread)", int(done.group(1)), failures, wall, cpu)


def run_locust(base: str, path: str, seconds: int, users: int, kind: str, out: Path) -> Measured:
    locust = Tools.load().get(Tool.LOCUST)
    prefix = out / f"locust-{kind}"
    cmd = [
        str(locust), "-f", str(ROOT / "bench" / "data" / "locust_max.py"),
        "--headless", "--only-summary", "--loglevel", "WARNING",
        "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "1",
        "--host", base, "--json-file", str(prefix), "--exit-code-on-error", "0",
    ]  # fmt: skip
    env = {**os.environ, "BENCH_USER": kind, "BENCH_PATH": path, "NO_PROXY": "*"}
    _, wall, cpu = _child(cmd, env)
    entries = json.loads(Path(f"{prefix}.json").read_text())
    requests = sum(e["num_requests"] for e in entries)
    failures = sum(e["num_failures"] for e in entries)
    label = "locust HttpUser" if kind == "http" else "locust FastHttpUser"
    return Measured(label, requests, failures, wall, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--connections", type=int, default=10, help="wrk connections = locust users"
    )
    parser.add_argument("--path", default="/health")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="sloverify-bench-") as tmp,
        tiny_service(Path(tmp)) as svc,
    ):
        url = svc.url + args.path
        results = [
            run_wrk(url, args.seconds, args.connections),
            run_locust(svc.url, args.path, args.seconds, args.connections, "http", Path(tmp)),
            run_locust(svc.url, args.path, args.seconds, args.connections, "fast", Path(tmp)),
        ]
    print(
        f"target: tiny service (uvicorn, 1 process) GET {args.path}, {args.seconds}s each, "
        f"{args.connections} connections/users, {os.cpu_count()} cores"
    )
    print(
        f"{'generator':<22} {'requests':>9} {'failures':>8} {'req/s':>8} {'CPU s':>6} {'req/CPU-s':>10}"
    )
    for m in results:
        print(
            f"{m.name:<22} {m.requests:>9} {m.failures:>8} {m.rps:>8.0f} {m.cpu:>6.2f} {m.per_cpu_second:>10.0f}"
        )
    wrk = results[0]
    for m in results[1:]:
        print(
            f"{m.name} / wrk, requests per CPU-second (per core): "
            f"{m.per_cpu_second / wrk.per_cpu_second:.3f} "
            f"(wrk is {wrk.per_cpu_second / m.per_cpu_second:.1f}x locust)"
        )


if __name__ == "__main__":
    main()
