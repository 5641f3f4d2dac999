"""Checks on budget arithmetic and alert thresholds: stated figures, feasibility, noise, volume."""

from __future__ import annotations

import math
from collections.abc import Iterator

from sloverify.rules.lint.findings import Finding, Severity, SLORef
from sloverify.rules.theory import never_fires
from sloverify.spec import Duration

# A single window that fires on less than this share of the period's budget pages on noise.
NOISE_BUDGET_SHARE = 0.01
# Bad events needed to cross a threshold below which an alert is a coin toss.
FEW_EVENTS = 10
# The Workbook pairs each long window with a short one of 1/12 its length.
SHORT_RATIO_RANGE = (1 / 30, 1 / 6)


def _minutes(d: Duration) -> float:
    return d.seconds / 60


def stated_arithmetic(ref: SLORef) -> Iterator[Finding]:
    """SLO001: the figures a document states about itself must follow from its objective."""
    slo, stated = ref.slo, ref.slo.stated
    b = slo.budget
    pct = f"{b * 100:g}%"
    checks = [
        (
            "error_budget_percent",
            stated.error_budget_percent,
            b * 100,
            f"100% - {slo.objective:g}%",
        ),
        (
            "budget_minutes_per_day",
            stated.budget_minutes_per_day,
            b * 1440,
            f"{pct} of 1,440 minutes",
        ),
        (
            "budget_minutes_per_week",
            stated.budget_minutes_per_week,
            b * 10080,
            f"{pct} of 10,080 minutes",
        ),
        ("period_minutes", stated.period_minutes, _minutes(slo.period), f"minutes in {slo.period}"),
        (
            "budget_minutes_per_period",
            stated.budget_minutes_per_period,
            b * _minutes(slo.period),
            f"{pct} of {_minutes(slo.period):,.0f} minutes ({slo.period})",
        ),
    ]
    for field, said, actual, how in checks:
        if said is None or math.isclose(said, actual, rel_tol=0.005, abs_tol=1e-9):
            continue
        hint = "correct the stated figure, or the objective it was derived from"
        if field == "budget_minutes_per_day":
            for days, word in ((7, "a week"), (30, "30 days")):
                if math.isclose(said, actual * days, rel_tol=0.005):
                    hint = f"{said:g} minutes is the budget of {word}, not of a day"
        yield Finding(
            "SLO001",
            Severity.ERROR,
            ref.at("stated", field),
            f"{ref.name} states {field.replace('_', ' ')} = {said:g}, but {how} is {actual:.4g}",
            hint,
        )


def alert_thresholds(ref: SLORef) -> Iterator[Finding]:
    """SLO002 (never fires), SLO003 (fires on noise) and SLO004 (window ratio)."""
    period = ref.slo.period.seconds
    for alert in ref.alerts:
        where = ref.loaded.locate(alert.source)
        for cond in alert.conditions:
            if never_fires(cond):
                yield Finding(
                    "SLO002",
                    Severity.ERROR,
                    where,
                    f"{alert.name} needs an error ratio {cond.op.value} {cond.threshold:.4g}: "
                    "more than a total outage, so it can never fire",
                    "lower the burn factor: factor * (1 - objective) must stay below 1",
                )
                continue
            factor = cond.factor or cond.threshold / ref.slo.budget
            if len(cond.windows) == 1 and cond.windows[0].seconds < period:
                share = factor * cond.windows[0].seconds / period
                if share < NOISE_BUDGET_SHARE:
                    yield Finding(
                        "SLO003",
                        Severity.WARNING,
                        where,
                        f"{alert.name} fires on {cond.windows[0]} alone at {factor:g}x: a burst "
                        f"spending {share:.2%} of the {ref.slo.period} budget fires it, and it "
                        f"stays firing for up to {cond.windows[0]} after recovery",
                        "pair a long window with a short one (SRE Workbook: 1h and 5m at 14.4x)",
                    )
            if len(cond.windows) == 2:
                ratio = cond.windows[1].seconds / cond.windows[0].seconds
                low, high = SHORT_RATIO_RANGE
                if not low <= ratio <= high:
                    yield Finding(
                        "SLO004",
                        Severity.WARNING,
                        where,
                        f"{alert.name}: short window {cond.windows[1]} is 1/{1 / ratio:.3g} of "
                        f"long window {cond.windows[0]}; the Workbook uses 1/12",
                        "a short window far longer delays reset; far shorter adds noise",
                    )


def event_volume(ref: SLORef) -> Iterator[Finding]:
    """SLO009: at the declared traffic, each alert window must see enough bad events to decide."""
    rate = ref.slo.stated.requests_per_second
    if rate is None:
        return
    for alert in ref.alerts:
        for cond in alert.conditions:
            if never_fires(cond):
                continue
            window = min(cond.windows)
            events = rate * window.seconds
            bad = cond.threshold * events
            if bad >= FEW_EVENTS:
                continue
            severity = Severity.ERROR if bad < 1 else Severity.WARNING
            yield Finding(
                "SLO009",
                severity,
                ref.loaded.locate(alert.source),
                f"{alert.name}: at the stated {rate:.4g} events/s its {window} window sees "
                f"{events:,.0f} events, so {max(bad, 0):.3g} bad events fire it"
                + (" (a single failure)" if bad < 1 else ""),
                "lengthen the window, or measure more events (probes more often, more traffic)",
            )
