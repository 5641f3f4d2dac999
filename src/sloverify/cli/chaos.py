"""``sloverify chaos run``, ``sloverify report`` and ``sloverify verify``: the chaos commands.

Composition only: experiments and specs are loaded here, the engine runs against the simulated
stack (``--dry-run``) or a live StackRun, every event goes to the console and the journal, and
the reports are rendered from the journal afterwards.
"""

from __future__ import annotations

import difflib
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from sloverify._exceptions import InputError, SpecError, SpecErrors
from sloverify.adapters.clock import SystemClock
from sloverify.adapters.journal import JOURNAL, Journal, read_journal, write_atomic
from sloverify.adapters.locust import SCENARIOS
from sloverify.adapters.promql import GoInspector
from sloverify.adapters.runtime.config import EVALUATION_INTERVAL, GROUP_WAIT, SCRAPE_INTERVAL
from sloverify.adapters.runtime.registry import runs_root
from sloverify.adapters.runtime.stackrun import STACKS
from sloverify.adapters.simulation import SimulatedStack, simulated_ports
from sloverify.engine.events import Event, RunFinished, RunStarted, StackChanged, StackStage
from sloverify.engine.ports import Ports
from sloverify.engine.run import run_experiment
from sloverify.reports.coverage import Coverage, coverage_table
from sloverify.reports.progress import Progress
from sloverify.reports.render import Format, render
from sloverify.rules.lint import Finding, LintContext, blind_slis
from sloverify.rules.queries import inspect_spec
from sloverify.spec import LoadedSpec, load_spec
from sloverify.spec.experiment_loader import LoadedExperiment, load_experiment
from sloverify.spec.stack import load_stack
from sloverify.verdicts.deadlines import Delays
from sloverify.verdicts.model import Status, worst
from sloverify.verdicts.plan import Plan, build_plan

CHAOS = STACKS.parent / "chaos"
# The runtime's own intervals: the deadlines must use what Prometheus and Alertmanager run with.
RUNTIME_DELAYS = Delays(
    scrape=SCRAPE_INTERVAL, evaluation=EVALUATION_INTERVAL, group_wait=GROUP_WAIT
)
EXIT = {Status.PASS: 0, Status.FAIL: 1, Status.INCONCLUSIVE: 3}


def _specs_of(stack: str, names: Sequence[str]) -> list[Path]:
    folder = STACKS / stack
    if not names:
        return sorted(folder.glob("slo*.yaml"))
    return [folder / n for n in names]


def load_plans(files: Sequence[Path]) -> list[Plan]:
    """Load every experiment and resolve it against its stack's specs; all errors at once."""
    plans: list[Plan] = []
    errors: list[SpecError] = []
    for path in files:
        try:
            loaded = load_experiment(path)
            plans.append(build_plan(loaded, specs_of(loaded), RUNTIME_DELAYS))
        except SpecErrors as exc:
            errors.extend(exc.errors)
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise SpecErrors.of(errors)
    if not plans:
        raise InputError("no experiment files given")
    return plans


def specs_of(loaded: LoadedExperiment) -> list[LoadedSpec]:
    """The specs an experiment reads, after checking its faults' targets exist in the stack."""
    exp = loaded.experiment
    specs: list[LoadedSpec] = []
    for i, spec_path in enumerate(_specs_of(exp.stack, exp.specs)):
        if not spec_path.is_file():
            raise SpecError(
                loaded.locate(("specs", i) if exp.specs else ("stack",)),
                f"no spec {spec_path.name} in {spec_path.parent}",
                "name a slo*.yaml file of the stack, or check the stack's name",
            )
        specs.append(load_spec(spec_path))
    if not specs:
        raise SpecError(loaded.locate(("stack",)), f"stack {exp.stack!r} has no slo*.yaml")
    _check_targets(loaded)
    return specs


def _check_targets(loaded: LoadedExperiment) -> None:
    # Edges and services must exist in stack.yaml: found before anything starts (exit 2).
    exp = loaded.experiment
    stack_yaml = STACKS / exp.stack / "stack.yaml"
    if not stack_yaml.is_file():
        raise SpecError(
            loaded.locate(("stack",)), f"no stack {exp.stack!r} ({stack_yaml} is missing)"
        )
    stack = load_stack(stack_yaml).spec
    edges = sorted(s.edge_name(e) for s in stack.services for e in s.uses)
    services = sorted(s.name for s in stack.services)
    for i, f in enumerate(exp.faults):
        edge: str | None = getattr(f, "edge", None)
        field, name, known = (
            ("edge", edge, edges) if edge else ("service", str(getattr(f, "service", "")), services)
        )
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"the stack's {field}s are {known}"
            raise SpecError(
                loaded.locate(("faults", i, field)),
                f"no {field} {name!r} in stack {exp.stack!r}",
                hint,
            )
    _check_traffic(loaded)


def _check_traffic(loaded: LoadedExperiment) -> None:
    # A misspelt scenario would silently fall back to the stopgap load, off the SLIs' paths.
    traffic = loaded.experiment.traffic
    known = sorted(p.parent.name for p in SCENARIOS.glob("*/locustfile.py"))
    if traffic.scenario is not None and traffic.scenario not in known:
        close = difflib.get_close_matches(traffic.scenario, known, n=1, cutoff=0.5)
        raise SpecError(
            loaded.locate(("traffic", "scenario")),
            f"no scenario {traffic.scenario!r} (scenarios/{traffic.scenario}/locustfile.py)",
            f"did you mean '{close[0]}'?" if close else f"known scenarios: {known}",
        )
    synthetic = sorted(p.stem for p in (SCENARIOS.parent / "synthetic").glob("*.yaml"))
    for i, name in enumerate(traffic.probes):
        if name not in synthetic and not name.endswith((".yaml", ".yml")):
            raise SpecError(
                loaded.locate(("traffic", "probes", i)),
                f"no synthetic file {name!r} (synthetic/{name}.yaml)",
                f"known synthetic files: {synthetic}",
            )


def blind_of(specs: Sequence[LoadedSpec]) -> dict[tuple[str, str], Finding]:
    """The SLOs of ``specs`` whose SLI reads no data (lint SLO006), keyed by (service, SLO)."""
    inspector = GoInspector()
    facts = {str(ls.path): inspect_spec(ls, inspector) for ls in specs}
    return blind_slis(LintContext(tuple(specs), facts))


def _blind_ids(plan: Plan) -> frozenset[str]:
    # What the simulated stack must answer with no data, as the live stack would.
    blind = blind_of(specs_of(plan.loaded))
    targets = [t for c in plan.claims for t in (c.target, c.witness) if t is not None]
    return frozenset(t.sloth_id for t in targets if (t.service, t.slo.name) in blind)


@dataclass(frozen=True)
class RunResult:
    """A finished chaos run: its folder and status."""

    folder: Path
    status: Status


def execute(
    plans: Sequence[Plan], dry_run: bool, out: Console, folder: Path | None = None
) -> RunResult:
    """Run the plans, journaling every event, then render every report from the journal."""
    run_id = f"chaos-{uuid.uuid4().hex[:8]}"
    folder = folder or runs_root() / run_id
    progress = Progress(out)
    statuses: list[Status] = []
    interrupted = False
    with Journal(folder / JOURNAL) as journal:

        def emit(ev: Event) -> None:
            journal.append(ev)
            progress(ev)

        clock = SystemClock()
        emit(
            RunStarted(
                at=clock.now(),
                run_id=run_id,
                files=tuple(str(p.loaded.path) for p in plans),
                dry_run=dry_run,
            )
        )
        try:
            for plan in plans:
                statuses.append(_one(plan, dry_run, emit))
        except KeyboardInterrupt:
            interrupted = True
        status = Status.INCONCLUSIVE if interrupted else worst(statuses)
        emit(RunFinished(at=clock.now(), status=status, interrupted=interrupted))
    write_reports(folder)
    if interrupted:
        raise KeyboardInterrupt
    return RunResult(folder, status)


def _one(plan: Plan, dry_run: bool, emit: Callable[[Event], None]) -> Status:
    with open_ports(plan, dry_run, emit) as ports:
        return run_experiment(plan, ports, emit)


@contextmanager
def open_ports(plan: Plan, dry_run: bool, emit: Callable[[Event], None]) -> Iterator[Ports]:
    """The engine's ports: a simulated stack, or a live one (its stages journaled)."""
    if dry_run:
        yield simulated_ports(SimulatedStack(plan, blind=_blind_ids(plan)))
        return
    from sloverify.adapters.live import live_ports  # only a live run needs the runtime

    clock, name = SystemClock(), plan.experiment.name

    def stage(s: StackStage) -> None:
        emit(StackChanged(at=clock.now(), experiment=name, stage=s))

    try:
        with live_ports(plan, on_stage=stage) as ports:
            yield ports
    finally:
        stage(StackStage.DOWN)


def write_reports(folder: Path, formats: Sequence[Format] = tuple(Format)) -> list[Path]:
    """Render the reports of a run folder from its journal (each written atomically)."""
    events = read_journal(folder / JOURNAL)
    written = []
    for fmt in formats:
        path = folder / fmt.filename
        write_atomic(path, render(events, fmt))
        written.append(path)
    return written


def register(cli: click.Group, out: Console) -> None:
    """Add the chaos commands to the CLI."""

    @cli.group("chaos")
    def chaos() -> None:
        """Chaos experiments: faults against a stack, and proof its alerts behave."""

    @chaos.command("run")
    @click.argument(
        "files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
    )
    @click.option(
        "--dry-run", is_flag=True, help="Run against a simulated stack: the plan and its deadlines."
    )
    @click.option(
        "--out", "folder", type=click.Path(path_type=Path, file_okay=False), help="Run folder."
    )
    def run_command(files: tuple[Path, ...], dry_run: bool, folder: Path | None) -> None:
        """Run experiments (chaos/<stack>/*.yaml); exit 0 pass, 1 fail, 3 inconclusive."""
        result = execute(load_plans(files), dry_run, out, folder)
        out.print(f"journal and reports: {result.folder}")
        sys.exit(EXIT[result.status])

    @cli.command("report")
    @click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice([f.value for f in Format]),
        help="One format (default: all).",
    )
    def report_command(run_dir: Path, fmt: str | None) -> None:
        """Re-render a chaos run's reports from its journal."""
        for path in write_reports(run_dir, [Format(fmt)] if fmt else tuple(Format)):
            out.print(str(path))

    @cli.command("verify")
    @click.argument("stacks", nargs=-1)
    @click.option("--dry-run", is_flag=True, help="Against simulated stacks.")
    def verify_command(stacks: tuple[str, ...], dry_run: bool) -> None:
        """Run every experiment of the stacks and print which proves each alert fires and stays silent."""
        names = list(stacks) or sorted(
            p.name for p in STACKS.iterdir() if (p / "stack.yaml").is_file()
        )
        unknown = [n for n in names if not (STACKS / n).is_dir()]
        if unknown:
            raise InputError(f"unknown stack {unknown[0]!r}; stacks are in {STACKS}")
        files = [f for n in names for f in sorted((CHAOS / n).glob("*.yaml"))]
        specs = {n: [load_spec(p) for p in _specs_of(n, ())] for n in names}
        plans = load_plans(files) if files else []
        result = execute(plans, dry_run, out) if plans else None
        blind = {k: f for loaded in specs.values() for k, f in blind_of(loaded).items()}
        cov = Coverage.build(specs, read_journal(result.folder / JOURNAL) if result else (), blind)
        out.print(coverage_table(cov))
        statuses = [result.status] if result else []
        if cov.missing:
            statuses.append(Status.FAIL)
        sys.exit(EXIT[worst(statuses)] if statuses else 1)
