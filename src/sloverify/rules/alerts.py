"""Resolve an SLO's alerting block into concrete alerts: explicit ones, or the default tiers.

A resolved alert is a disjunction of window conditions, each a conjunction of windows whose
error ratio must exceed one threshold. Every alert kind maps onto that shape (a budget alert is
one window equal to the period), so rules, theory and proofs share one model. Only a threshold
on a free query (a lag gauge, say) stays opaque.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from sloverify.spec import (
    SLO,
    AlertKind,
    BudgetConsumedAlert,
    BurnRateAlert,
    Duration,
    FieldPath,
    Op,
    Spec,
    SpecVersion,
    ThresholdAlert,
    ThresholdTarget,
)

_D = Duration.parse

# Sloth's defaults (30d period): page = 14.4x over 1h/5m or 6x over 6h/30m; ticket = 3x over
# 1d/2h or 1x over 3d/6h.
SLOTH_PAGE = ((_D("1h"), _D("5m"), 14.4), (_D("6h"), _D("30m"), 6.0))
SLOTH_TICKET = ((_D("1d"), _D("2h"), 3.0), (_D("3d"), _D("6h"), 1.0))
# The SRE Workbook's recommended tiers (table 5-8): 2% of a 30d budget in 1h pages, 5% in 6h
# pages, 10% in 3d tickets. For other periods the windows scale with the period.
WORKBOOK_TIERS = (
    ("FastBurn", "page", _D("1h"), _D("5m"), 14.4),
    ("SlowBurn", "page", _D("6h"), _D("30m"), 6.0),
    ("BudgetBurn", "ticket", _D("3d"), _D("6h"), 1.0),
)
_THIRTY_DAYS = _D("30d")


@dataclass(frozen=True)
class Condition:
    """Every window's error ratio ``op`` threshold (windows ANDed, longest first)."""

    windows: tuple[Duration, ...]
    threshold: float
    op: Op = Op.GT
    factor: float | None = None
    budget: str | None = None  # set when threshold == factor * budget, to print it that way


@dataclass(frozen=True)
class QueryCondition:
    """A free query compared with a value: opaque to the window arithmetic."""

    query: str
    window: Duration
    op: Op
    value: float


@dataclass(frozen=True)
class ResolvedAlert:
    """One alert rule to generate: an OR of conditions, or one query condition."""

    name: str
    kind: AlertKind
    severity: str
    for_: Duration
    labels: dict[str, str]
    annotations: dict[str, str]
    conditions: tuple[Condition, ...]
    query: QueryCondition | None = None
    source: FieldPath = field(default=())

    @property
    def windows(self) -> tuple[Duration, ...]:
        """Every window this alert reads, longest first."""
        ws = {w for c in self.conditions for w in c.windows}
        if self.query is not None:
            ws.add(self.query.window)
        return tuple(sorted(ws, reverse=True))

    @property
    def lowest_threshold(self) -> float:
        """The smallest error ratio at which some condition can hold."""
        return min(c.threshold for c in self.conditions)


def budget_literal(slo: SLO) -> str:
    """The error budget as an exact decimal string: 99.9 -> "0.001" (no float noise)."""
    value = (Decimal(100) - Decimal(repr(slo.objective))) / Decimal(100)
    return format(value.normalize(), "f")


def budget(slo: SLO) -> float:
    """The error budget as the float PromQL computes from :func:`budget_literal`."""
    return float(budget_literal(slo))


def resolve_alerts(spec: Spec, index: int) -> tuple[ResolvedAlert, ...]:
    """The concrete alerts of ``spec.slos[index]``."""
    slo = spec.slos[index]
    base_path: FieldPath = ("slos", index, "alerting")
    if slo.alerting.alerts is not None:
        return tuple(
            _explicit(slo, a, (*base_path, "alerts", i)) for i, a in enumerate(slo.alerting.alerts)
        )
    if spec.version is SpecVersion.SLOTH:
        return _sloth_defaults(slo, base_path)
    return _workbook_defaults(slo, base_path)


def camel(name: str) -> str:
    """``requests-availability`` -> ``RequestsAvailability``."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^a-zA-Z0-9]+", name) if p)


def _explicit(
    slo: SLO, alert: BurnRateAlert | BudgetConsumedAlert | ThresholdAlert, path: FieldPath
) -> ResolvedAlert:
    b = budget(slo)
    labels = {**slo.alerting.labels, **alert.labels}
    annotations = {**slo.alerting.annotations, **alert.annotations}
    common = dict(
        name=alert.name,
        kind=alert.kind,
        severity=alert.severity,
        for_=alert.for_,
        labels=labels,
        annotations=annotations,
        source=path,
    )
    if isinstance(alert, BurnRateAlert):
        conditions = tuple(
            Condition(
                windows=(w.long, w.short) if w.short is not None else (w.long,),
                threshold=w.factor * b,
                factor=w.factor,
                budget=budget_literal(slo),
            )
            for w in alert.windows
        )
        return ResolvedAlert(conditions=conditions, **common)  # type: ignore[arg-type]
    if isinstance(alert, BudgetConsumedAlert):
        fraction = alert.percent / 100
        cond = Condition((slo.period,), fraction * b, Op.GE, fraction, budget_literal(slo))
        return ResolvedAlert(conditions=(cond,), **common)  # type: ignore[arg-type]
    if alert.target is ThresholdTarget.QUERY:
        assert alert.query is not None
        q = QueryCondition(alert.query, alert.window, alert.op, alert.value)
        return ResolvedAlert(conditions=(), query=q, **common)  # type: ignore[arg-type]
    if alert.target is ThresholdTarget.GOOD_RATIO:
        # good < v  <=>  error > 1 - v ; good <= v  <=>  error >= 1 - v
        error_op = Op.GT if alert.op is Op.LT else Op.GE
        threshold = float(Decimal(1) - Decimal(repr(alert.value)))
    else:
        error_op, threshold = alert.op, alert.value
    cond = Condition((alert.window,), threshold, error_op, factor=threshold / b)
    return ResolvedAlert(conditions=(cond,), **common)  # type: ignore[arg-type]


def _sloth_defaults(slo: SLO, path: FieldPath) -> tuple[ResolvedAlert, ...]:
    b = budget(slo)
    name = slo.alerting.name or f"{camel(slo.name)}HighErrorRate"
    out = []
    for tier, severity, pairs in (
        (slo.alerting.page_alert, "page", SLOTH_PAGE),
        (slo.alerting.ticket_alert, "ticket", SLOTH_TICKET),
    ):
        if tier.disable:
            continue
        conditions = tuple(
            Condition((lw, sw), f * b, factor=f, budget=budget_literal(slo)) for lw, sw, f in pairs
        )
        out.append(
            ResolvedAlert(
                name=name,
                kind=AlertKind.BURN_RATE,
                severity=severity,
                for_=Duration(Fraction(0)),
                labels={**slo.alerting.labels, "sloth_severity": severity, **tier.labels},
                annotations={**slo.alerting.annotations, **tier.annotations},
                conditions=conditions,
                source=(*path, f"{severity}_alert"),
            )
        )
    return tuple(out)


def _workbook_defaults(slo: SLO, path: FieldPath) -> tuple[ResolvedAlert, ...]:
    b = budget(slo)
    prefix = slo.alerting.name or camel(slo.name)
    ratio = slo.period.ms / _THIRTY_DAYS.ms
    out = []
    for suffix, severity, long, short, factor in WORKBOOK_TIERS:
        lw, sw = _whole_seconds(long * ratio), _whole_seconds(short * ratio)
        out.append(
            ResolvedAlert(
                name=f"{prefix}{suffix}",
                kind=AlertKind.BURN_RATE,
                severity=severity,
                for_=Duration(Fraction(0)),
                labels=dict(slo.alerting.labels),
                annotations=dict(slo.alerting.annotations),
                conditions=(
                    Condition((lw, sw), factor * b, factor=factor, budget=budget_literal(slo)),
                ),
                source=path,
            )
        )
    return tuple(out)


def _whole_seconds(d: Duration) -> Duration:
    return Duration.of_seconds(max(1, round(d.seconds)))
