"""The console view of a chaos run: consumes the engine's events, prints the steps that matter."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from sloverify.engine.events import (
    Event,
    ExperimentFinished,
    ExperimentPlanned,
    FaultApplied,
    FaultRemoved,
    GuardTripped,
    HarnessFailed,
    Measured,
    PhaseStarted,
    VerdictReached,
)
from sloverify.verdicts.model import Status

_STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.INCONCLUSIVE: "yellow"}


class Progress:
    """Prints events as they come; harness problems once per message."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._start = 0.0
        self._seen: set[str] = set()

    def __call__(self, ev: Event) -> None:
        """Consume one event."""
        c = self.console
        if isinstance(ev, ExperimentPlanned):
            self._start = ev.at
            c.print(
                f"[bold]{escape(ev.experiment)}[/bold] on {escape(ev.stack)} at k={ev.scale}: "
                f"warm-up {ev.warm_up:g}s, faults {ev.fault_span:g}s, poll every {ev.tick:g}s"
            )
            for claim in ev.claims:
                c.print(f"  plan: {escape(claim.label)}")
        elif isinstance(ev, PhaseStarted):
            c.print(f"  [dim]+{ev.at - self._start:7.2f}s {ev.phase.value}[/dim]")
        elif isinstance(ev, FaultApplied | FaultRemoved):
            what = "on " if isinstance(ev, FaultApplied) else "off"
            c.print(f"  +{ev.at - self._start:7.2f}s fault {what} {escape(ev.fault)}")
        elif isinstance(ev, Measured):
            e = "no data" if ev.error_ratio is None else f"{ev.error_ratio:.4g}"
            c.print(f"  measured error ratio of {escape(ev.slo)}: {e} ({ev.samples} samples)")
        elif isinstance(ev, GuardTripped):
            c.print(
                f"  [red]guard tripped[/red]: {escape(ev.slo)} at {ev.burn_rate:.3g}x > {ev.limit:g}x"
            )
        elif isinstance(ev, HarnessFailed) and ev.message not in self._seen:
            self._seen.add(ev.message)
            c.print(f"  [yellow]harness:[/yellow] {escape(ev.message)}")
        elif isinstance(ev, VerdictReached):
            v = ev.verdict
            c.print(
                f"  [{_STYLE[v.status]}]{v.status.value:>12}[/] {escape(v.label)}: {escape(v.reason)}"
            )
        elif isinstance(ev, ExperimentFinished):
            c.print(f"  [{_STYLE[ev.status]}]{ev.status.value}[/]\n")
