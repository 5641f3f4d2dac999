"""The coverage table of ``sloverify verify``: for every alert of every spec, the experiments that
proved it fires and the ones that proved it stays silent (passed verdicts only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.table import Table

from sloverify.engine.events import Event
from sloverify.reports.record import fold
from sloverify.rules.alerts import resolve_alerts
from sloverify.spec import LoadedSpec
from sloverify.verdicts.model import Status


@dataclass
class Row:
    """One alert and what proved it."""

    stack: str
    service: str
    alert: str
    severity: str
    fires: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # experiments whose claim about it failed


@dataclass
class Coverage:
    """Every alert's row."""

    rows: list[Row]

    @property
    def missing(self) -> list[Row]:
        """Rows with no passed proof one way or the other."""
        return [r for r in self.rows if not r.fires or not r.silent]

    @classmethod
    def build(cls, specs: Mapping[str, Sequence[LoadedSpec]], events: Sequence[Event]) -> Coverage:
        """Rows for every alert of the specs, filled from a run's verdicts."""
        rows: list[Row] = []
        for stack, loaded in specs.items():
            for ls in loaded:
                for i in range(len(ls.spec.slos)):
                    for a in resolve_alerts(ls.spec, i):
                        rows.append(Row(stack, ls.spec.service, a.name, a.severity))
        run = fold(events)
        for exp in run.experiments:
            claims = {c.index: c for c in exp.planned.claims}
            for v in exp.verdicts:
                c = claims.get(v.index)
                if c is None or c.alert is None or c.expect not in ("fires", "silent"):
                    continue
                for r in rows:
                    same = r.stack == exp.planned.stack and r.alert == c.alert
                    if not same or (c.severity and c.severity != r.severity):
                        continue
                    if v.status is Status.PASS:
                        (r.fires if c.expect == "fires" else r.silent).append(exp.name)
                    else:
                        r.failed.append(f"{exp.name} ({c.expect}: {v.status.value})")
        return cls(rows)


def coverage_table(cov: Coverage) -> Table:
    """The table, missing cells flagged."""
    t = Table(title="alert coverage: which experiment proves each alert fires / stays silent")
    for col in ("stack", "alert", "severity", "fires", "stays silent", "failed or inconclusive"):
        t.add_column(col)
    for r in cov.rows:
        t.add_row(
            r.stack,
            r.alert,
            r.severity,
            ", ".join(r.fires) or "[red]MISSING[/red]",
            ", ".join(r.silent) or "[red]MISSING[/red]",
            ", ".join(r.failed),
        )
    return t
