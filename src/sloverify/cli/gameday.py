"""``sloverify gameday PLAN``: a game day's steps, announced, confirmed, guarded, journaled.

Composition only: the plan is loaded and every step resolved (all errors before anything
runs), the engine runs the steps against live stacks or the simulated one (``--dry-run``),
every event goes to the journal and to the console view, and the reports are rendered from
the journal afterwards, as for ``chaos run``.
"""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live
from rich.markup import escape

from sloverify._exceptions import SpecError, SpecErrors
from sloverify.adapters.clock import SystemClock
from sloverify.adapters.journal import JOURNAL, Journal
from sloverify.adapters.runtime.registry import runs_root
from sloverify.cli.chaos import EXIT, RUNTIME_DELAYS, open_ports, specs_of, write_reports
from sloverify.engine.events import Event, RunFinished, RunStarted
from sloverify.engine.gameday import Answer, GamedayStep, run_gameday
from sloverify.engine.ports import Ports
from sloverify.reports.gameday import GamedayView
from sloverify.spec.gameday import LoadedGameday, LoadedStep, load_gameday
from sloverify.verdicts.model import Status
from sloverify.verdicts.plan import Plan, build_plan, guard_plans

_YES = {"y", "yes"}


def load_steps(path: Path) -> tuple[LoadedGameday, list[GamedayStep]]:
    """Load a plan and resolve every step against its stack; every error at once (exit 2)."""
    loaded = load_gameday(path)
    steps: list[GamedayStep] = []
    errors: list[SpecError] = []
    for s in loaded.steps:
        try:
            steps.append(_step(loaded, s))
        except SpecErrors as exc:
            errors.extend(exc.errors)
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise SpecErrors.of(errors)
    return loaded, steps


def _step(plan: LoadedGameday, s: LoadedStep) -> GamedayStep:
    specs = specs_of(s.experiment)
    built = build_plan(s.experiment, specs, RUNTIME_DELAYS)
    # The plan's guard and the step's are armed beside the experiment's own.
    extra = guard_plans(plan.gameday.guard, specs, plan.locate, ("guard",))
    extra += guard_plans(s.step.guard, specs, plan.locate, (*s.path, "guard"))
    built = dataclasses.replace(built, guards=built.guards + extra)
    return GamedayStep(s.number, built, s.step.confirm, s.step.announce)


def _asker(out: Console, yes: bool, live: Live | None) -> Callable[[GamedayStep], Answer]:
    def ask(step: GamedayStep) -> Answer:
        if yes:
            return Answer(True, "--yes")
        if live is not None:
            live.stop()  # the prompt needs the terminal to itself
        try:
            out.print(f"[bold]{escape(step.confirm or '')}[/bold]", soft_wrap=True)
            try:
                reply = out.input(f"start step {step.number} ({escape(step.name)})? \\[y/N] ")
            except EOFError:
                reply = ""  # no one to answer: not confirmed
            return Answer(reply.strip().lower() in _YES)
        finally:
            if live is not None:
                live.start()

    return ask


def run_plan(path: Path, dry_run: bool, yes: bool, out: Console, folder: Path | None) -> int:
    """Run a game-day plan; its exit code (0 pass, 1 fail, 3 inconclusive or stopped)."""
    loaded, steps = load_steps(path)
    run_id = f"gameday-{uuid.uuid4().hex[:8]}"
    folder = folder or runs_root() / run_id
    clock = SystemClock()
    gd = loaded.gameday
    out.print(
        f"[bold]game day {escape(gd.name)}[/bold]: {len(steps)} step(s) at time scale "
        f"k={gd.time_scale}"
        + (" (real time)" if gd.time_scale == 1 else "")
        + (", dry run" if dry_run else "")
    )
    if gd.description:
        out.print(escape(gd.description), soft_wrap=True)
    view = GamedayView(out, live=out.is_terminal, clock=None if dry_run else clock.now)
    live = Live(get_renderable=view.panel, console=out, refresh_per_second=4) if view.live else None
    status, stopped, interrupted = Status.INCONCLUSIVE, "", False
    with Journal(folder / JOURNAL) as journal, live or nullcontext():

        def emit(ev: Event) -> None:
            journal.append(ev)
            view(ev)

        def ports_for(plan: Plan) -> AbstractContextManager[Ports]:
            return open_ports(plan, dry_run, emit)

        emit(RunStarted(at=clock.now(), run_id=run_id, files=(str(path),), dry_run=dry_run))
        try:
            outcome = run_gameday(steps, ports_for, emit, _asker(out, yes, live), clock)
            status, stopped = outcome.status, outcome.stopped
        except KeyboardInterrupt:
            interrupted, stopped = True, "interrupted (Ctrl-C): every fault was removed"
        emit(RunFinished(at=clock.now(), status=status, interrupted=interrupted, stopped=stopped))
    write_reports(folder)
    out.print(f"journal and reports: {folder}")
    if interrupted:
        raise KeyboardInterrupt
    return EXIT[status]


def register(cli: click.Group, out: Console) -> None:
    """Add the gameday command to the CLI."""

    @cli.command("gameday")
    @click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
    @click.option(
        "--dry-run", is_flag=True, help="Run against the simulated stack (no real time passes)."
    )
    @click.option(
        "--yes", "-y", is_flag=True, help="Answer yes to every confirmation (automation)."
    )
    @click.option(
        "--out", "folder", type=click.Path(path_type=Path, file_okay=False), help="Run folder."
    )
    def gameday_command(plan: Path, dry_run: bool, yes: bool, folder: Path | None) -> None:
        """Run a game-day plan (kind: gameday): its steps in order, each announced, confirmed
        where the plan asks and guarded, at the plan's time scale (1 is real time).

        A step not confirmed stops the day before its stack comes up; a guard that trips
        removes every fault and stops the day; Ctrl-C removes every fault and exits 130.
        Exit 0 every step passed, 1 a verdict failed, 2 bad plan, 3 inconclusive or stopped.
        """
        sys.exit(run_plan(plan, dry_run, yes, out, folder))
