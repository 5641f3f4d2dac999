"""Traffic commands: ``load`` (locust shapes or the open model), ``probe``, ``synthetic serve``.

``register(cli, scale_type, duration_type)`` adds them to the main group; main.py keeps the
exit-code mapping (errors raised here are InputError, exit 2, or HarnessError, exit 3).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.live import Live
from rich.text import Text

from sloverify._exceptions import InputError, Unreachable
from sloverify.adapters.loadstats import EndpointStats, Shape
from sloverify.adapters.locust import SCENARIOS, LoadOptions, run_load
from sloverify.adapters.openload import OpenOptions, run_open
from sloverify.adapters.probe_scheduler import ProbeScheduler
from sloverify.adapters.probe_server import serve
from sloverify.adapters.probes import Attempt, Result, plan
from sloverify.adapters.runtime.registry import latest_active
from sloverify.adapters.runtime.stackrun import STACKS
from sloverify.adapters.tools import Tools
from sloverify.reports.traffic import (
    load_table,
    open_table,
    probe_counts_table,
    probe_table,
    stress_table,
)
from sloverify.spec import Duration
from sloverify.spec.stack import load_stack
from sloverify.spec.synthetic import load_synthetic

out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)
SYNTHETIC = SCENARIOS.parent / "synthetic"


def register(
    cli: click.Group,
    scale: click.ParamType[Fraction, object],
    duration: click.ParamType[Duration, object],
) -> None:
    """Add the traffic commands to the CLI group."""
    time_scale = click.option(
        "--time-scale",
        "scale",
        type=scale,
        default="1",
        show_default=True,
        help="Divide every duration and interval by K (60: an hour in a minute).",
    )
    targets = click.option(
        "--target",
        "target_flags",
        multiple=True,
        metavar="NAME=URL",
        help="The URL of a named service or component (default: the running stack's). Repeatable.",
    )

    @cli.command("load")
    @click.argument("scenario")
    @click.option(
        "--shape", type=click.Choice([s.value for s in Shape]), default="load", show_default=True
    )
    @click.option(
        "--users", type=click.IntRange(1, 10_000), default=10, show_default=True, help="Peak users."
    )
    @click.option(
        "--rate",
        type=click.FloatRange(min=0, min_open=True),
        help="Peak requests/s over all users (default: 1 per user); the open model's starts/s.",
    )
    @time_scale
    @click.option(
        "--duration",
        type=duration,
        help="The shape's length in real time (default: load and spike 10m, stress 20m, endurance 1h); divided by the time scale.",
    )
    @click.option(
        "--workers",
        type=click.IntRange(0, 64),
        default=0,
        show_default=True,
        help="Run locust's master and N workers (distributed mode).",
    )
    @click.option("--web", is_flag=True, help="Serve locust's web UI on 127.0.0.1 (game days).")
    @click.option(
        "--host", help="Send every request here (a real environment) instead of the running stack."
    )
    @targets
    @click.option(
        "--steps",
        type=click.IntRange(1, 100),
        default=5,
        show_default=True,
        help="stress: steps up to the peak users.",
    )
    @click.option(
        "--max-failure-ratio",
        type=click.FloatRange(0, 1),
        default=0.01,
        show_default=True,
        help="stress: a step over this failure ratio breaks.",
    )
    @click.option(
        "--max-p95-ms",
        type=click.FloatRange(min=0, min_open=True),
        default=500.0,
        show_default=True,
        help="stress: a step over this p95 breaks.",
    )
    @click.option(
        "--model",
        type=click.Choice(["closed", "open"]),
        default="closed",
        show_default=True,
        help="open: our arrival-rate driver instead of locust (counts late and dropped starts).",
    )
    @click.option(
        "--path",
        "paths",
        multiple=True,
        help="open: the paths to request, in turn (default /health).",
    )
    @click.option(
        "--service", help="open: the stack service to send to (default: the stack's first)."
    )
    @click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Keep locust's CSV, JSON and logs here.",
    )
    def load_command(
        scenario: str,
        shape: str,
        users: int,
        rate: float | None,
        scale: Fraction,
        duration: Duration | None,
        workers: int,
        web: bool,
        host: str | None,
        target_flags: tuple[str, ...],
        steps: int,
        max_failure_ratio: float,
        max_p95_ms: float,
        model: str,
        paths: tuple[str, ...],
        service: str | None,
        out_dir: Path | None,
    ) -> None:
        """Drive a scenario's users against a stack with a load shape, live, then a summary.

        \b
        SCENARIO is a stack with scenarios/<stack>/locustfile.py, or a locustfile's path.
        Shapes: load (steady peak), spike (the peak at once, in the middle), stress (steps
        up until a step breaks --max-failure-ratio or --max-p95-ms: the capacity is the last
        step that held), endurance (a soak). Every run ends after its scaled length.
        Examples:
          sloverify load agentmesh --shape spike --users 20 --rate 40 --time-scale 60
          sloverify load agentmesh --shape stress --users 50 --time-scale 60 --workers 2
          sloverify load agentmesh --model open --rate 50 --duration 10m --time-scale 60
        """
        known = _targets(target_flags, need=host is None)
        base = duration.seconds if duration else None
        if model == "open":  # our driver: SCENARIO only names the stack
            url = host or _service_url(scenario, known, service)
            _reachable(url)
            seconds = float(Fraction(base or 600) / scale)
            opts = OpenOptions(
                url=url, paths=paths or ("/health",), rate=rate or 10.0, seconds=seconds
            )
            with err.status(f"open model: {opts.rate:g} starts/s for {seconds:.3g}s"):
                out.print(open_table(run_open(opts)))
            return
        locustfile, stack = _scenario(scenario)
        _reachable(host or _service_url(stack, known, service))
        opts2 = LoadOptions(
            locustfile=locustfile,
            shape=Shape(shape),
            out_dir=out_dir or Path(tempfile.mkdtemp(prefix="sloverify-load-")),
            users=users,
            rate=rate,
            scale=scale,
            base_seconds=base,
            host=host,
            targets=known,
            workers=workers,
            web=web,
            stress_steps=steps,
            max_failure_ratio=max_failure_ratio,
            max_p95_ms=max_p95_ms,
        )
        if web:
            err.print(
                "locust web UI: see the master's log for its URL; it quits 10 s after the shape ends"
            )
        with Live(
            Text("starting locust..."), console=err, refresh_per_second=4, transient=True
        ) as live:

            def progress(total: EndpointStats, elapsed: float) -> None:
                live.update(
                    Text(
                        f"{opts2.shape.value} {elapsed:5.1f}s / {opts2.seconds:.3g}s  "
                        f"requests {total.requests}  failures {total.failures}  "
                        f"{total.rps:.1f} req/s  p95 {total.p95_ms:.0f} ms"
                    )
                )

            result = run_load(opts2, Tools.load(), progress)
        out.print(load_table(result))
        if result.stress is not None:
            out.print(stress_table(result.stress))
        out.print(f"locust's files: {opts2.out_dir}")

    @cli.command("probe")
    @click.argument("source")
    @click.option("--once", is_flag=True, help="One attempt of every probe, then a table.")
    @time_scale
    @targets
    @click.option(
        "--duration",
        type=duration,
        default="10m",
        show_default=True,
        help="Without --once: how long to keep probing (real time; divided by the time scale).",
    )
    def probe_command(
        source: str, once: bool, scale: Fraction, target_flags: tuple[str, ...], duration: Duration
    ) -> None:
        """Run a stack's synthetic probes (synthetic/<stack>.yaml, or a file) and count results.

        Every attempt is counted, none retried. Exits 1 when any attempt failed.
        """
        loaded = load_synthetic(_synthetic_file(source))
        known = _targets(target_flags, need=False)
        scheduler = ProbeScheduler(plan(loaded, known, scale))
        if once:
            attempts = asyncio.run(scheduler.once())
            out.print(probe_table(attempts, f"{loaded.path}: one attempt each"))
        else:
            seconds = float(Fraction(duration.seconds) / scale)

            def show(a: Attempt) -> None:
                mark = "ok" if a.result is Result.SUCCESS else a.result.value
                err.print(f"{a.probe}: {mark} {a.duration * 1000:.0f} ms {a.detail}")

            scheduler.on_attempt = show
            asyncio.run(scheduler.run(max_seconds=seconds))
            out.print(probe_counts_table(dict(scheduler.counts), f"{loaded.path}: {seconds:.3g}s"))
        if any(r is not Result.SUCCESS for _, r in scheduler.counts):
            sys.exit(1)

    @cli.group("synthetic")
    def synthetic() -> None:
        """Continuous synthetic checks for a real environment (or a running stack)."""

    @synthetic.command("serve")
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
    @click.option("--listen", default="127.0.0.1:9464", show_default=True, metavar="HOST:PORT")
    @time_scale
    @targets
    def serve_command(
        file: Path, listen: str, scale: Fraction, target_flags: tuple[str, ...]
    ) -> None:
        """Probe every interval until stopped; /metrics for Prometheus, /healthz for itself.

        A target that is down is a failed probe, never a crash. Stop with Ctrl-C or SIGTERM.
        """
        host, _, port = listen.rpartition(":")
        if host != "127.0.0.1" or not port.isdigit():
            raise InputError(f"--listen {listen!r}: give 127.0.0.1:PORT")
        loaded = load_synthetic(file)
        scheduler = ProbeScheduler(plan(loaded, _targets(target_flags, need=False), scale))
        err.print(
            f"probing {len(scheduler.plan.probes)} probes; metrics on http://{listen}/metrics"
        )
        serve(scheduler, host, int(port))


def _scenario(name: str) -> tuple[Path, str | None]:
    path = Path(name)
    if path.suffix == ".py":
        if not path.is_file():
            raise InputError(f"{path}: no such locustfile")
        return path.resolve(), None
    candidate = SCENARIOS / name / "locustfile.py"
    if not candidate.is_file():
        known = sorted(p.parent.name for p in SCENARIOS.glob("*/locustfile.py"))
        raise InputError(f"no scenario {name!r}: known scenarios {known}, or give a locustfile")
    return candidate, name


def _synthetic_file(source: str) -> Path:
    path = Path(source)
    if path.suffix in (".yaml", ".yml"):
        return path
    candidate = SYNTHETIC / f"{source}.yaml"
    if not candidate.is_file():
        known = sorted(p.stem for p in SYNTHETIC.glob("*.yaml"))
        raise InputError(f"no synthetic file for {source!r}: known {known}, or give a file")
    return candidate


def _targets(flags: tuple[str, ...], need: bool) -> dict[str, str]:
    """Targets of the newest running stack, overridden by --target NAME=URL."""
    known: dict[str, str] = {}
    run = latest_active()
    state = run.read_state() if run is not None else None
    if state is not None:
        known.update({c.name: c.url for c in state.components if c.url})
    for flag in flags:
        name, sep, url = flag.partition("=")
        if not sep or not name or "://" not in url:
            raise InputError(f"--target {flag!r}: write NAME=URL, e.g. api=http://127.0.0.1:8000")
        known[name] = url
    if need and not known:
        raise InputError(
            "no stack is up and no --host or --target given: start one with `sloverify up STACK`"
        )
    return known


def _service_url(stack: str | None, known: Mapping[str, str], service: str | None) -> str:
    if service:
        if service not in known:
            raise InputError(f"--service {service!r} is not running; known: {sorted(known)}")
        return known[service]
    candidates: list[str] = []
    if stack and (STACKS / stack / "stack.yaml").is_file():
        # The stack's HTTP services first: names need not carry the stack's (ca3's processor),
        # and those that do need not serve HTTP (dvt-worker, dvt-projection: metrics only).
        spec = load_stack(STACKS / stack / "stack.yaml").spec
        candidates = [s.name for s in spec.services if s.http and s.name in known]
    if not candidates:
        candidates = [n for n in known if stack and n.startswith(stack)]
    if not candidates:
        raise InputError("name the service with --service, or give --host URL")
    return known[sorted(candidates)[0]]


def _reachable(url: str) -> None:
    try:
        httpx.get(url, timeout=3.0, trust_env=False)
    except httpx.HTTPError as exc:
        raise Unreachable(url, type(exc).__name__) from None
