"""Locust as a subprocess: one process, or its master and N workers; stats read from its CSV.

Locust is never imported here (it monkey-patches the whole process with gevent, and its pytest
plugin claims ``--host``); it lives in its own venv (``Tool.LOCUST``, installed by
``ci/bootstrap``). The scenario's locustfile reads the shape and the targets from the
environment (``scenarios/_lib``). Every run is bounded twice: the shape ends by itself after
its scaled length, and the processes are killed if they outlive it by a grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from sloverify._exceptions import HarnessError, ToolFailed
from sloverify.adapters.loadstats import (
    EndpointStats,
    LoadResult,
    Shape,
    parse_stats_csv,
    parse_stats_json,
    parse_stress,
)
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.tools import Tool, Tools

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
# Real-time lengths of each shape; a run lasts this divided by the time scale.
BASE_SECONDS = {
    Shape.LOAD: 600.0,
    Shape.SPIKE: 600.0,
    Shape.STRESS: 1200.0,
    Shape.ENDURANCE: 3600.0,
}
GRACE = 30.0  # start-up (workers connecting) and the final stats, beyond the shape's length
Progress = Callable[[EndpointStats, float], None]


@dataclass(frozen=True)
class LoadOptions:
    """One locust run: which locustfile, which shape at which scale, against what."""

    locustfile: Path
    shape: Shape
    out_dir: Path
    users: int = 10
    rate: float | None = None  # peak requests/s over all users (None: 1 per user)
    scale: Fraction = Fraction(1)
    base_seconds: float | None = None  # the shape's real-time length (None: its default)
    host: str | None = None
    targets: Mapping[str, str] = field(default_factory=dict)
    workers: int = 0
    web: bool = False
    stress_steps: int = 5
    max_failure_ratio: float = 0.01
    max_p95_ms: float = 500.0
    ramp_seconds: float | None = None  # load/endurance: reach the peak in this long

    @property
    def seconds(self) -> float:
        """How long the shape runs at this scale."""
        return float(Fraction(self.base_seconds or BASE_SECONDS[self.shape]) / self.scale)


@dataclass
class LocustRun:
    """The processes of one run and where they write."""

    options: LoadOptions
    prefix: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    web_url: str | None = None
    master_port: int = 0


def run_load(
    opts: LoadOptions,
    tools: Tools,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Run locust to the end of its shape (or ``stop``) and return its stats.

    HarnessError if it broke. ``stop`` ends it early, as a chaos experiment's end does.
    """
    locust = tools.get(Tool.LOCUST)
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    run = LocustRun(opts, opts.out_dir / "locust")
    result_file = opts.out_dir / "stress.json"
    result_file.unlink(missing_ok=True)
    env = _environment(opts, result_file)
    master = [*_common(locust, opts, run), *_mode(opts, run)]
    try:
        run.processes.append(_spawn(master, env, opts.out_dir / "locust-master.log"))
        for i in range(opts.workers):
            worker = [str(locust), "-f", str(opts.locustfile), "--worker", "--loglevel", "WARNING"]
            worker += ["--master-host", "127.0.0.1", "--master-port", str(run.master_port)]
            run.processes.append(_spawn(worker, env, opts.out_dir / f"locust-worker-{i}.log"))
        _wait(run, progress, stop)
    finally:
        for p in run.processes:
            _stop(p)
    code = run.processes[0].returncode
    stats_json = Path(f"{run.prefix}.json")
    if code not in (0, None) or not stats_json.exists():
        log = (opts.out_dir / "locust-master.log").read_text(encoding="utf-8", errors="replace")
        raise ToolFailed(master, log)
    endpoints, total = parse_stats_json(stats_json)
    stress = parse_stress(result_file) if opts.shape is Shape.STRESS else None
    return LoadResult(
        shape=opts.shape,
        seconds=opts.seconds,
        endpoints=endpoints,
        total=total,
        stress=stress,
        workers=opts.workers,
    )


def _environment(opts: LoadOptions, result_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(SCENARIOS), str(opts.locustfile.parent)]),
        SLOVERIFY_SHAPE=opts.shape.value,
        SLOVERIFY_USERS=str(opts.users),
        SLOVERIFY_TIME_SCALE=str(opts.scale),
        SLOVERIFY_BASE_SECONDS=str(opts.base_seconds or BASE_SECONDS[opts.shape]),
        SLOVERIFY_STRESS_STEPS=str(opts.stress_steps),
        SLOVERIFY_STRESS_MAX_FAILURE_RATIO=str(opts.max_failure_ratio),
        SLOVERIFY_STRESS_MAX_P95_MS=str(opts.max_p95_ms),
        SLOVERIFY_RESULT_FILE=str(result_file),
        SLOVERIFY_STOP_FILE=str(result_file.with_name("stop")),
        SLOVERIFY_TARGETS=json.dumps(dict(opts.targets)),
        # Locust must not pick up a proxy from the environment: targets are on 127.0.0.1.
        NO_PROXY="*",
        no_proxy="*",
    )
    env.pop("SLOVERIFY_RATE", None)
    env.pop("SLOVERIFY_RAMP_SECONDS", None)
    if opts.ramp_seconds is not None:
        env["SLOVERIFY_RAMP_SECONDS"] = str(opts.ramp_seconds)
    if opts.rate:
        env["SLOVERIFY_RATE"] = str(opts.rate)
    return env


def _common(locust: Path, opts: LoadOptions, run: LocustRun) -> list[str]:
    # --csv for the live progress (rewritten every second), --json-file for the final stats.
    cmd = [str(locust), "-f", str(opts.locustfile), "--csv", str(run.prefix)]
    cmd += ["--json-file", str(run.prefix)]
    cmd += ["--loglevel", "WARNING", "--exit-code-on-error", "0", "--stop-timeout", "2"]
    if opts.host:
        cmd += ["--host", opts.host]
    return cmd


def _mode(opts: LoadOptions, run: LocustRun) -> list[str]:
    cmd: list[str] = []
    if opts.web:
        port = free_port()
        run.web_url = f"http://127.0.0.1:{port}"
        # The UI for game days: the shape starts at once; locust quits 10 s after it ends.
        cmd += ["--autostart", "--autoquit", "10", "--web-host", "127.0.0.1"]
        cmd += ["--web-port", str(port)]
    else:
        cmd += ["--headless", "--only-summary"]
    if opts.workers:
        run.master_port = free_port()
        cmd += ["--master", "--master-bind-host", "127.0.0.1"]
        cmd += ["--master-bind-port", str(run.master_port)]
        cmd += ["--expect-workers", str(opts.workers), "--expect-workers-max-wait", "30"]
    return cmd


def _spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # Its own session: stopping the run stops every greenlet's process group at once.
        return subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _wait(run: LocustRun, progress: Progress | None, stop: threading.Event | None) -> None:
    master = run.processes[0]
    deadline = time.monotonic() + run.options.seconds + GRACE + (30 if run.options.workers else 0)
    started = time.monotonic()
    stats_csv = Path(f"{run.prefix}_stats.csv")
    stop_file = run.options.out_dir / "stop"
    stop_file.unlink(missing_ok=True)
    while master.poll() is None:
        if stop is not None and stop.is_set() and not stop_file.exists():
            # The shape ends at its next tick; locust then quits and writes its stats.
            stop_file.touch()
            deadline = min(deadline, time.monotonic() + GRACE)
        if time.monotonic() > deadline:
            raise HarnessError(
                f"locust outlived its shape ({run.options.seconds:.0f}s + {GRACE:.0f}s); "
                f"stopped it. Log: {run.options.out_dir / 'locust-master.log'}"
            )
        if progress is not None and stats_csv.exists():
            with contextlib.suppress(HarnessError, OSError):
                _, total = parse_stats_csv(stats_csv)
                if total is not None:
                    progress(total, time.monotonic() - started)
        time.sleep(0.5)


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
