"""The game-day console: steps and announcements as lines, and a status panel kept current.

It consumes the engine's events only. On a terminal the panel (step, phase and time left, each
SLO's current error ratio and burn rate, each alert's state, the faults on) is redrawn in
place by the CLI's ``rich.live.Live``; elsewhere (CI logs, tests) a status line is printed when
the phase or an alert's state changes. The experiment's own lines come from ``Progress``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from sloverify.engine.events import (
    AlertsPolled,
    Announced,
    Confirmed,
    Event,
    ExperimentPlanned,
    FaultApplied,
    FaultRemoved,
    PhaseStarted,
    RunFinished,
    Sampled,
    StepStarted,
)
from sloverify.reports.progress import Progress

_STATE_STYLE = {"firing": "red", "pending": "yellow", "inactive": "green"}


@dataclass
class _Now:
    """What the panel shows, as of the latest event."""

    step: int = 0
    steps: int = 0
    experiment: str = ""
    phase: str = "-"
    until: float | None = None
    at: float = 0.0
    signals: dict[str, str] = field(default_factory=dict)  # SLO -> query
    budgets: dict[str, float] = field(default_factory=dict)
    values: dict[str, float | None] = field(default_factory=dict)  # query -> latest value
    alerts: dict[str, str] = field(default_factory=dict)  # "Name (severity)" -> state
    faults: set[str] = field(default_factory=set)


class GamedayView:
    """Consumes a game day's events; prints its lines and keeps its status panel."""

    def __init__(
        self, console: Console, live: bool, clock: Callable[[], float] | None = None
    ) -> None:
        self.console = console
        self.live = live  # True: the panel is drawn by Live; False: print status lines
        # The run's clock, when events carry its time (a live run): the countdown then moves
        # between events too (at real time scale a poll is 30 s apart).
        self.clock = clock
        self.progress = Progress(console)
        self.now = _Now()
        self._shown = ""

    def __call__(self, ev: Event) -> None:
        """Consume one event."""
        c, n = self.console, self.now
        n.at = ev.at
        if isinstance(ev, StepStarted):
            self.now = _Now(step=ev.step, steps=ev.steps, experiment=ev.experiment, at=ev.at)
            c.rule(f"step {ev.step}/{ev.steps}: {escape(ev.experiment)}")
        elif isinstance(ev, Announced):
            c.print(f"[bold cyan]>> {escape(ev.text)}[/bold cyan]", soft_wrap=True)
        elif isinstance(ev, Confirmed):
            said = "yes" if ev.answer else "no"
            style = "green" if ev.answer else "red"
            c.print(f"  confirmation ({ev.by}): [{style}]{said}[/{style}]")
        elif isinstance(ev, RunFinished) and ev.stopped:
            c.print(f"[red]game day stopped[/red]: {escape(ev.stopped)}", soft_wrap=True)
        self._track(ev)
        self.progress(ev)
        if not self.live:
            self._status_line()

    def _track(self, ev: Event) -> None:
        n = self.now
        if isinstance(ev, ExperimentPlanned):
            n.signals, n.budgets = dict(ev.signals), dict(ev.budgets)
            n.alerts = {_key(a.name, a.severity): "inactive" for a in ev.alerts}
        elif isinstance(ev, PhaseStarted):
            n.phase, n.until = ev.phase.value, ev.until
        elif isinstance(ev, Sampled):
            n.values[ev.query] = ev.value
        elif isinstance(ev, AlertsPolled):
            seen = {_key(a.name, a.severity): a.state.value for a in ev.alerts}
            n.alerts = {k: seen.get(k, "inactive") for k in n.alerts}
        elif isinstance(ev, FaultApplied):
            n.faults.add(ev.fault)
        elif isinstance(ev, FaultRemoved):
            n.faults.discard(ev.fault)

    def left(self) -> float | None:
        """Run seconds left in the current phase (None: it ends when its work is done)."""
        n = self.now
        at = max(n.at, self.clock()) if self.clock else n.at
        return None if n.until is None else max(n.until - at, 0.0)

    def slis(self) -> list[tuple[str, float | None, float | None]]:
        """Each SLO's latest error ratio and burn rate (None: no data yet)."""
        out = []
        for slo, query in self.now.signals.items():
            value = self.now.values.get(query)
            budget = self.now.budgets.get(slo)
            burn = value / budget if value is not None and budget else None
            out.append((slo, value, burn))
        return out

    def _status_line(self) -> None:
        n = self.now
        if not n.experiment or n.phase == "-":
            return
        alerts = ", ".join(f"{k} {v}" for k, v in n.alerts.items())
        key = f"{n.phase}|{alerts}"
        if key == self._shown:
            return
        self._shown = key
        left = self.left()
        slis = "; ".join(
            f"{slo} error ratio {_num(v)} (burn {_burn(b)})" for slo, v, b in self.slis()
        )
        self.console.print(
            f"  [dim]status: {n.phase}"
            + ("" if left is None else f", {left:.0f}s left")
            + (f"; {escape(slis)}" if slis else "")
            + (f"; alerts: {escape(alerts)}" if alerts else "")
            + "[/dim]",
            soft_wrap=True,
        )

    def panel(self) -> RenderableType:
        """The status panel, as of now."""
        n = self.now
        left = self.left()
        head = (
            f"step {n.step}/{n.steps} [bold]{escape(n.experiment)}[/bold]  phase "
            f"[bold]{n.phase}[/bold]" + ("" if left is None else f"  {left:.0f}s left")
        )
        table = Table(show_header=True, header_style="dim", box=None, pad_edge=False)
        table.add_column("SLO / alert")
        table.add_column("now", justify="right")
        table.add_column("burn", justify="right")
        for slo, v, b in self.slis():
            table.add_row(escape(slo), _num(v), _burn(b))
        for name, state in n.alerts.items():
            style = _STATE_STYLE.get(state, "")
            table.add_row(escape(name), f"[{style}]{state}[/{style}]", "")
        faults = ", ".join(sorted(n.faults)) or "none"
        return Panel(Group(head, table, f"faults on: {escape(faults)}"), title="game day")


def _key(name: str, severity: str) -> str:
    return f"{name} ({severity})" if severity else name


def _num(v: float | None, fmt: str = ".4g") -> str:
    return "no data" if v is None else format(v, fmt)


def _burn(b: float | None) -> str:
    return "-" if b is None else f"{b:.3g}x"
