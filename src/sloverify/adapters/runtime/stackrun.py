"""A stack brought up for real: its dependencies, monitoring with its SLO rules, its services.

``StackRun.start("maestro")`` is what tests and the chaos engine use in-process;
``sloverify up maestro`` builds the same components in its background controller.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

from sloverify._exceptions import ComponentFailed, HarnessError, InputError
from sloverify.adapters.backfill import (
    Backfilled,
    backfill_plan,
    measure,
    openmetrics,
    slow_free,
    write_blocks,
)
from sloverify.adapters.faults import FaultInjector
from sloverify.adapters.process_faults import ProcessRef
from sloverify.adapters.prometheus import PrometheusClient
from sloverify.adapters.runtime.component import Component, RunContext
from sloverify.adapters.runtime.components import KINDS, external_component
from sloverify.adapters.runtime.config import EVALUATION_INTERVAL, SCRAPE_INTERVAL, scaled
from sloverify.adapters.runtime.probes import Probes
from sloverify.adapters.runtime.registry import RunDir
from sloverify.adapters.runtime.rulefiles import write_rules
from sloverify.adapters.runtime.services import COMMON, Edge, ServiceComponent, stack_components
from sloverify.adapters.runtime.supervisor import Supervisor
from sloverify.adapters.tools import Tools
from sloverify.spec.stack import LoadedStack, load_stack

STACKS = COMMON.parent
SYNTHETIC = STACKS.parent / "synthetic"
# Every stack run has these; the datastores come only when an edge targets them.
MONITORING = ("toxiproxy", "webhook", "alertmanager", "prometheus")


def known_stacks(root: Path = STACKS) -> list[str]:
    """Names of the folders under ``root`` that hold a ``stack.yaml``."""
    return sorted(p.parent.name for p in root.glob("*/stack.yaml")) if root.exists() else []


def stack_file(name: str, root: Path = STACKS) -> Path:
    """The stack definition of a named stack; an unknown name is bad input, with a suggestion."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return path
    known = known_stacks(root)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(f"unknown stack '{name}' (known: {', '.join(known) or 'none'}){hint}")
    return root / name / "stack.yaml"


def slo_specs(stack: LoadedStack) -> list[Path]:
    """The SLO specs beside a stack definition."""
    return sorted(stack.folder.glob("slo*.yaml"))


def synthetic_file(name: str) -> Path:
    """A synthetic file by name (``synthetic/<name>.yaml``) or path; unknown names are bad input."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return path
    candidate = SYNTHETIC / f"{name}.yaml"
    if not candidate.is_file():
        known = sorted(p.stem for p in SYNTHETIC.glob("*.yaml"))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(f"no synthetic file {name!r} (known: {', '.join(known) or 'none'}){hint}")
    return candidate


def stack_run_components(
    ctx: RunContext,
    stacks: Sequence[LoadedStack],
    external: Mapping[str, str] | None = None,
    probes: Sequence[Path] = (),
) -> list[Component]:
    """Monitoring, the datastores the stacks' edges need, their services and probes.

    Scrape jobs are added to ``ctx``. Components named in ``external`` are only checked.
    """
    needed = [*MONITORING, *(d.value for s in stacks for d in s.spec.dependencies())]
    deps: dict[str, Component] = {}
    for name in dict.fromkeys(needed):
        url = (external or {}).get(name)
        deps[name] = KINDS[name]() if url is None else external_component(name, url)
    services: list[ServiceComponent] = []
    for s in stacks:
        services += stack_components(s, deps)
    ctx.scrape_jobs.extend(job for c in services if (job := c.scrape_job()) is not None)
    checkers = [Probes(f, tuple(c.name for c in services)) for f in probes]
    ctx.scrape_jobs.extend(p.scrape_job() for p in checkers)
    return [*deps.values(), *services, *checkers]


class StackRun:
    """A running stack: service URLs, its edges, Prometheus, and faults through the ledger."""

    def __init__(self, stack: LoadedStack, supervisor: Supervisor, faults: FaultInjector) -> None:
        self.stack = stack
        self.supervisor = supervisor
        self.faults = faults
        self.prometheus = PrometheusClient(supervisor.component("prometheus").url)

    @classmethod
    @contextmanager
    def start(
        cls,
        stack: str | Path,
        scale: Fraction = Fraction(60),
        runs_root: Path | None = None,
        external: Mapping[str, str] | None = None,
        probes: Sequence[Path] = (),
    ) -> Iterator[StackRun]:
        """Bring the stack up (rules at ``scale``), yield it, and stop everything on exit.

        ``probes`` are synthetic files whose checks run, supervised, for the whole run.
        """
        loaded = load_stack(stack_file(str(stack)))
        run = RunDir.create(runs_root)
        rules, severities = write_rules(slo_specs(loaded), scale, run.path / "rules-src")
        ctx = RunContext(run, Tools.load(), scale, rule_files=rules)
        ctx.severities = tuple(dict.fromkeys([*ctx.severities, *sorted(severities)]))
        components = stack_run_components(ctx, [loaded], external, probes)
        with Supervisor(ctx, components) as supervisor:
            faults = supervisor.faults()
            try:
                stack_run = cls(loaded, supervisor, faults)
                stack_run.await_scraped(len(ctx.scrape_jobs) + 2)  # + prometheus, alertmanager
                yield stack_run
            finally:
                faults.rollback_all()
                faults.close()

    def await_scraped(self, targets: int, timeout: float = 30.0) -> None:
        """Wait until Prometheus has scraped ``targets`` targets successfully.

        Prometheus hands new targets to its scrapers at most every 5 s, so "ready" is not yet
        "scraping": a test or an experiment that started at once would read empty windows.
        """
        samples = self.prometheus.wait_for(
            "count(up == 1)", lambda s: bool(s) and s[0].value >= targets, timeout=timeout
        )
        if not samples or samples[0].value < targets:
            seen = int(samples[0].value) if samples else 0
            raise ComponentFailed(
                "prometheus",
                f"scraped only {seen} of {targets} targets within {timeout:g}s",
                [],
                self.supervisor.log_tail("prometheus"),
            )

    @property
    def run(self) -> RunDir:
        """The run folder: logs, the ledger, notifications."""
        return self.supervisor.ctx.run

    def url(self, service: str) -> str:
        """A service's (or a component's) base URL."""
        return self.supervisor.component(service).url

    @property
    def toxiproxy_url(self) -> str:
        """Toxiproxy's API."""
        return self.supervisor.component("toxiproxy").url

    @property
    def edges(self) -> dict[str, Edge]:
        """Every dependency edge of the stack by proxy name."""
        return {e.name: e for s in self.stack.spec.services for e in self._service(s.name).edges}

    def warm_up(
        self, history: float, baseline: float, latency: Mapping[str, float] | None = None
    ) -> Backfilled:
        """Write ``history`` logical seconds of healthy past into Prometheus (see backfill).

        Call it after ``baseline`` real seconds of healthy traffic: every series' baseline
        rate or value is extended backwards, the histograms named in ``latency`` (base name
        to threshold) without a request over their threshold. Prometheus restarts once to
        load the blocks.
        """
        ctx = self.supervisor.ctx
        jobs = [job.name for c in self._services() if (job := c.scrape_job()) is not None]
        jobs.append("synthetic")
        series = slow_free(measure(self.prometheus, [*jobs, "sloverify"], baseline), latency or {})
        record = self.supervisor.process("prometheus")
        assert record is not None
        span = history / float(ctx.scale)
        end = record.started - 1.0  # before Prometheus's first live sample: no overlap
        first_gap = max(scaled(SCRAPE_INTERVAL, ctx.scale).seconds, 0.01)
        evaluation = scaled(EVALUATION_INTERVAL, ctx.scale).seconds
        plan = backfill_plan(series, end, span, first_gap, evaluation)
        data = ctx.run.data("prometheus")
        text = openmetrics(series, plan.times, plan.averaged)
        self.supervisor.restart("prometheus", between=lambda: write_blocks(text, data, ctx.tools))
        return Backfilled(len(series), plan.samples, span, end)

    def _services(self) -> list[ServiceComponent]:
        return [self._service(s.name) for s in self.stack.spec.services]

    def process(self, name: str) -> ProcessRef:
        """A component's current process, as process faults name their target."""
        record = self.supervisor.process(name)
        if record is None:
            raise HarnessError(f"{name} has no running process")
        return ProcessRef(name=name, pid=record.pid, pgid=record.pgid, started=record.started)

    def _service(self, name: str) -> ServiceComponent:
        component = self.supervisor.component(name)
        assert isinstance(component, ServiceComponent)
        return component
