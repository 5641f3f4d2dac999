"""Console rendering of lint findings, explain tables and promtool proof results."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sloverify.adapters.promtool import ProofResult
from sloverify.rules.explain import ExplainRow
from sloverify.rules.lint import Finding, Severity
from sloverify.spec import Duration


def human(seconds: float | None) -> str:
    """Seconds as a short duration ("51.8s", "4m56s", "2d3h"); "never" for None."""
    if seconds is None:
        return "never"
    if seconds < 60:
        return f"{seconds:.3g}s"
    return Duration.of_seconds(round(seconds)).prometheus()


def lint_report(console: Console, findings: Sequence[Finding], files: int) -> None:
    """One block per finding, then a count."""
    for f in findings:
        style = "red" if f.severity is Severity.ERROR else "yellow"
        console.print(
            f"{escape(str(f.location))}: [bold]{f.id}[/bold] "
            f"[{style}]{f.severity.value}[/{style}]: {escape(f.message)}",
            highlight=False,
            soft_wrap=True,
        )
        if f.hint:
            console.print(f"  hint: {escape(f.hint)}", highlight=False, soft_wrap=True, style="dim")
    errors = sum(f.severity is Severity.ERROR for f in findings)
    console.print(
        f"{len(findings)} finding(s) in {files} spec(s): {errors} error(s), "
        f"{len(findings) - errors} warning(s)",
        highlight=False,
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.3%}"


def explain_table(console: Console, title: str, rows: Sequence[ExplainRow]) -> None:
    """The Workbook-style table of every alert of one spec."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in (
        "SLO",
        "alert",
        "sev",
        "windows",
        "threshold",
        "detect @100%",
        "budget @100%",
        "detect @2x",
        "budget @2x",
        "reset @100%",
    ):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r.slo,
            r.alert.name,
            r.alert.severity,
            r.windows + (f" (+for {r.alert.for_})" if r.alert.for_ else ""),
            "—" if r.threshold is None else f"{r.threshold:.4g}",
            "—" if r.threshold is None else human(r.outage.detect_seconds),
            _pct(r.outage.budget_spent),
            "—" if r.threshold is None else human(r.double.detect_seconds),
            _pct(r.double.budget_spent),
            "—" if r.threshold is None else human(r.reset_seconds),
        )
    console.print(table)
    ramps = {r.slo: r.ramp_seconds for r in rows if r.ramp_seconds}
    for slo, ramp in ramps.items():
        console.print(
            f"  {slo}: its SLI fixes a {human(ramp)} range, included in the times above",
            style="dim",
            highlight=False,
        )


def proof_line(console: Console, result: ProofResult, done: int, total: int) -> None:
    """One line per proved alert as it completes; the promtool output on failure."""
    mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
    p = result.proof
    console.print(
        f"[{done}/{total}] {mark} {escape(p.label)}  ({len(p.checks)} checks, "
        f"interval {p.interval})",
        highlight=False,
    )
    if not result.passed:
        for line in result.output.strip().splitlines()[-40:]:
            console.print(f"    {line}", highlight=False, markup=False)
