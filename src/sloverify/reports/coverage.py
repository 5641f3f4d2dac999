"""The coverage table of ``sloverify verify``: for every alert of every spec, the experiments that
proved it fires and the ones that proved it stays silent (passed verdicts only).

An alert over a blind SLI (lint SLO006: its selector names a label or metric the exporter does
not emit) cannot fire at any fault: its "fires" cell says so, with the finding, instead of
MISSING, and it still needs an experiment proving it stays silent (with a witness).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.table import Table

from sloverify.engine.events import Event
from sloverify.reports.record import fold
from sloverify.rules.alerts import resolve_alerts
from sloverify.rules.lint import Finding
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
    unprovable: str = ""  # why no experiment can make it fire (its SLI's lint finding)


@dataclass
class Coverage:
    """Every alert's row."""

    rows: list[Row]

    @property
    def missing(self) -> list[Row]:
        """Rows with no passed proof one way or the other."""
        return [r for r in self.rows if not (r.fires or r.unprovable) or not r.silent]

    @classmethod
    def build(
        cls,
        specs: Mapping[str, Sequence[LoadedSpec]],
        events: Sequence[Event],
        blind: Mapping[tuple[str, str], Finding] | None = None,
    ) -> Coverage:
        """Rows for every alert of the specs, filled from a run's verdicts.

        ``blind``: SLOs whose SLI reads no data, keyed by (service, SLO name) (lint's
        ``blind_slis``); their alerts are unprovable, not missing, in the "fires" column.
        """
        rows: list[Row] = []
        for stack, loaded in specs.items():
            for ls in loaded:
                for i, slo in enumerate(ls.spec.slos):
                    finding = (blind or {}).get((ls.spec.service, slo.name))
                    why = f"{finding.id}: {_short(finding.message)}" if finding else ""
                    for a in resolve_alerts(ls.spec, i):
                        rows.append(Row(stack, ls.spec.service, a.name, a.severity, unprovable=why))
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
            ", ".join(r.fires)
            or (f"[yellow]unprovable ({r.unprovable})[/yellow]" if r.unprovable else "")
            or "[red]MISSING[/red]",
            ", ".join(r.silent) or "[red]MISSING[/red]",
            ", ".join(r.failed),
        )
    return t


def _short(message: str) -> str:
    # The finding without its "service/slo: " prefix: the row already names the alert.
    return message.split(": ", 1)[-1]
