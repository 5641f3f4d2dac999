"""``sloverify up | status | down | logs``: the embedded runtime from the command line."""

from __future__ import annotations

import difflib
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sloverify._exceptions import ComponentFailed, InputError
from sloverify.adapters.runtime.components import KINDS
from sloverify.adapters.runtime.registry import (
    RunDir,
    RunState,
    Status,
    all_runs,
    end_orphans,
    latest_active,
)
from sloverify.adapters.runtime.rulefiles import write_rules
from sloverify.spec.stack import load_stack

STACKS = Path("stacks")


def stack_files(names: tuple[str, ...]) -> tuple[list[Path], list[Path]]:
    """The SLO specs and stack definitions of the named stacks; an unknown stack is bad input."""
    known = sorted(p.name for p in STACKS.iterdir() if p.is_dir() and not p.name.startswith("_"))
    specs: list[Path] = []
    definitions: list[Path] = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise InputError(f"unknown stack '{name}' (known: {', '.join(known) or 'none'}){hint}")
        specs.extend(sorted((STACKS / name).glob("slo*.yaml")))
        if (STACKS / name / "stack.yaml").exists():
            definitions.append(STACKS / name / "stack.yaml")
    return specs, definitions


def up(
    console: Console,
    stacks: tuple[str, ...],
    scale: Fraction,
    only: tuple[str, ...],
    external: tuple[str, ...],
    timeout: float,
    backend: str = "embedded",
) -> RunState:
    """Start a run in the background and wait until every component is ready."""
    for line in end_orphans():
        console.print(f"ended orphan {escape(line)}")
    for e in external:
        name, _, url = e.partition("=")
        if name not in KINDS or not url:
            raise InputError(
                f"--external {e!r}: write NAME=URL with NAME one of {', '.join(KINDS)}"
            )
    specs, definitions = stack_files(stacks)
    for definition in definitions:
        load_stack(definition)  # bad input fails here, located, before anything starts
    run = RunDir.create()
    rules, severities = write_rules(specs, scale, run.path / "rules-src")
    command = [
        sys.executable,
        "-m",
        "sloverify.adapters.runtime.daemon",
        "--run-dir",
        str(run.path),
        "--time-scale",
        str(scale),
    ]
    command += [a for r in rules for a in ("--rules", str(r))]
    command += [a for sev in sorted(severities) for a in ("--severity", sev)]
    command += [a for o in only for a in ("--only", o)]
    command += [a for e in external for a in ("--external", e)]
    command += ["--backend", backend]
    command += [a for d in definitions for a in ("--stack", str(d.resolve()))]
    log = run.log("controller").open("ab")
    daemon = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        return _await_run(console, run, daemon, command, timeout)
    except KeyboardInterrupt:
        # An interrupted `up` must not leave a half-started run behind.
        daemon.terminate()
        daemon.wait(timeout=90)
        raise


def _await_run(
    console: Console,
    run: RunDir,
    daemon: subprocess.Popen[bytes],
    command: list[str],
    timeout: float,
) -> RunState:
    deadline = time.monotonic() + timeout
    with console.status(f"starting run {run.id}") as status:
        while True:
            state = run.read_state()
            if state is not None:
                waiting = [c.name for c in state.components if c.status is not Status.READY]
                status.update(f"starting run {run.id}: waiting for {', '.join(waiting) or '...'}")
                if state.ready:
                    return state
                if state.error:
                    daemon.wait(timeout=60)
                    raise ComponentFailed("run", f"{run.id} did not start", command, state.error)
            if daemon.poll() is not None:
                raise ComponentFailed(
                    "controller",
                    f"exited with code {daemon.returncode}",
                    command,
                    run.log("controller").read_text(errors="replace"),
                )
            if time.monotonic() > deadline:
                daemon.terminate()
                daemon.wait(timeout=60)
                raise ComponentFailed(
                    "run",
                    f"was not ready within {timeout:g}s",
                    command,
                    run.log("controller").read_text(errors="replace"),
                )
            time.sleep(0.2)


def status_table(state: RunState) -> Table:
    """The components of a run: URL, status, restarts, log."""
    table = Table(title=f"run {state.id} (time scale {state.time_scale})", title_justify="left")
    for col in ("component", "url", "status", "restarts", "log"):
        table.add_column(col)
    for c in state.components:
        style = {Status.READY: "green", Status.FAILED: "red"}.get(c.status, "yellow")
        url = c.url + (" (external)" if c.external else "")
        table.add_row(c.name, url, f"[{style}]{c.status.value}[/{style}]", str(c.restarts), c.log)
    return table


def find_run(run_id: str | None) -> RunDir:
    """The named run, or the newest active one."""
    if run_id:
        for run in all_runs():
            if run.id == run_id:
                return run
        raise InputError(f"no run named {run_id!r}; `sloverify status` lists the active one")
    active = latest_active()
    if active is None:
        raise InputError("no run is up; start one with `sloverify up`")
    return active


def down(console: Console, run_id: str | None) -> None:
    """Stop a run: SIGTERM its controller, wait, then end anything left."""
    run = find_run(run_id)
    controller = run.controller()
    if controller is not None and controller.alive():
        os.kill(controller.pid, signal.SIGTERM)
        deadline = time.monotonic() + 90
        while controller.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
    for line in end_orphans():
        console.print(f"ended leftover {escape(line)}")
    console.print(f"stopped run {run.id}; logs stay in {run.path / 'logs'}")


def logs(console: Console, component: str, run_id: str | None, lines: int) -> None:
    """Print the tail of a component's log."""
    found = find_run(run_id) if run_id else (latest_active() or next(iter(all_runs()), None))
    if found is None:
        raise InputError("no run found; start one with `sloverify up`")
    run = found
    available = sorted(p.stem for p in (run.path / "logs").glob("*.log"))
    if component not in available:
        close = difflib.get_close_matches(component, available, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(
            f"run {run.id} has no log for {component!r} (has: {', '.join(available)}){hint}"
        )
    text = run.log(component).read_text(errors="replace").splitlines()[-lines:]
    for line in text:
        click.echo(line)
