"""The theory of every alert of a spec, as rows: threshold, detection, budget spent, reset."""

from __future__ import annotations

from dataclasses import dataclass

from sloverify.rules.alerts import ResolvedAlert, resolve_alerts
from sloverify.rules.sli import error_ratio, fixed_ranges
from sloverify.rules.theory import Fault, alert_timing, budget_consumed
from sloverify.spec import SLO, Spec


@dataclass(frozen=True)
class Scenario:
    """Detection time and budget spent by then, under one fault; None if it never fires."""

    error_ratio: float
    detect_seconds: float | None
    budget_spent: float | None


@dataclass(frozen=True)
class ExplainRow:
    """One alert's figures, SRE Workbook chapter 5 style."""

    slo: str
    alert: ResolvedAlert
    windows: str
    threshold: float | None
    outage: Scenario
    double: Scenario
    reset_seconds: float | None
    ramp_seconds: float


def explain(spec: Spec) -> list[ExplainRow]:
    """Rows for every alert of every SLO of a spec."""
    rows = []
    for i, slo in enumerate(spec.slos):
        ramp = _ramp(slo)
        for alert in resolve_alerts(spec, i):
            rows.append(_row(slo, alert, ramp))
    return rows


def _ramp(slo: SLO) -> float:
    # A base SLI sees a step fault only gradually, over the range fixed in its query.
    ratio = error_ratio(slo.sli)
    if ratio.windowed or ratio.base_expr is None:
        return 0.0
    ranges = fixed_ranges(ratio.base_expr)
    return max((r.seconds for r in ranges), default=0.0)


def _scenario(slo: SLO, alert: ResolvedAlert, error: float, ramp: float) -> Scenario:
    timing = alert_timing(alert, Fault(min(error, 1.0)), ramp)
    if timing.fires_after is None:
        return Scenario(error, None, None)
    spent = budget_consumed(min(error, 1.0), timing.fires_after, slo.budget, slo.period.seconds)
    return Scenario(error, timing.fires_after, spent)


def _row(slo: SLO, alert: ResolvedAlert, ramp: float) -> ExplainRow:
    windows = " | ".join(" & ".join(str(w) for w in c.windows) for c in alert.conditions)
    if alert.query is not None:
        q = alert.query
        return ExplainRow(
            slo.name,
            alert,
            f"{q.window} (query {q.op.value} {q.value:g})",
            None,
            Scenario(1.0, None, None),
            Scenario(0.0, None, None),
            None,
            ramp,
        )
    threshold = alert.lowest_threshold
    # _scenario caps the error ratio at 1 and says "never" for an alert nothing can fire.
    outage = _scenario(slo, alert, 1.0, ramp)
    double = _scenario(slo, alert, 2 * threshold, ramp)
    reset = (
        alert_timing(alert, Fault(1.0, outage.detect_seconds), ramp).resets_after
        if outage.detect_seconds
        else None
    )
    return ExplainRow(slo.name, alert, windows, threshold, outage, double, reset, ramp)
