"""Prometheus recording, budget and alert rules for a spec, optionally time-scaled.

Names follow Sloth where Sloth has them (``slo:sli_error:ratio_rate5m``, ``slo:error_budget:ratio``,
``slo:period_burn_rate:ratio``; labels ``sloth_id``, ``sloth_service``, ``sloth_slo``,
``sloth_window``), so Sloth's dashboards work on our output. Rule names and ``sloth_window``
keep the *logical* window ("5m") at any time scale; only ranges, ``for`` and intervals shrink.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from sloverify.rules.alerts import (
    Condition,
    ResolvedAlert,
    budget_literal,
    resolve_alerts,
)
from sloverify.rules.sli import ErrorRatio, error_ratio, scale_ranges
from sloverify.spec import SLO, Duration, Spec

DEFAULT_EVALUATION_INTERVAL = Duration.parse("30s")
CURRENT_WINDOW = Duration.parse("5m")
IDENTITY_LABELS = ("sloth_id", "sloth_service", "sloth_slo")


@dataclass(frozen=True)
class RecordingRule:
    """``record: name`` with its expression and labels."""

    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertingRule:
    """``alert: name`` with expression, ``for``, labels and annotations."""

    alert: str
    expr: str
    for_: Duration
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class RuleGroup:
    """A Prometheus rule group with its evaluation interval."""

    name: str
    interval: Duration
    rules: tuple[RecordingRule | AlertingRule, ...]


@dataclass(frozen=True)
class SLORules:
    """Every group generated for one SLO, with the alerts they implement."""

    slo: SLO
    sloth_id: str
    series_labels: dict[str, str]
    alerts: tuple[ResolvedAlert, ...]
    groups: tuple[RuleGroup, ...]


@dataclass(frozen=True)
class RuleOptions:
    """How to generate: time scale, evaluation interval, and the substitutions proofs use."""

    scale: Fraction = Fraction(1)
    evaluation_interval: Duration = DEFAULT_EVALUATION_INTERVAL
    sli_override: ErrorRatio | None = None
    # Proofs replace each query alert's query with a gauge of their own, named by alert.
    synthetic_queries: bool = False


def window_record(window: Duration) -> str:
    """The recording rule name of the error ratio over a logical window."""
    return f"slo:sli_error:ratio_rate{window.label()}"


def sloth_id(spec: Spec, slo: SLO) -> str:
    """Sloth's id of an SLO: ``<service>-<slo>``."""
    return f"{spec.service}-{slo.name}"


def generate(spec: Spec, options: RuleOptions = RuleOptions()) -> tuple[SLORules, ...]:
    """Rules for every SLO of a spec."""
    return tuple(generate_slo(spec, i, options) for i in range(len(spec.slos)))


def generate_slo(spec: Spec, index: int, options: RuleOptions = RuleOptions()) -> SLORules:
    """Rules for ``spec.slos[index]``: SLI windows, budget metadata, alerts."""
    slo = spec.slos[index]
    sid = sloth_id(spec, slo)
    ident = {"sloth_id": sid, "sloth_service": spec.service, "sloth_slo": slo.name}
    series = {**spec.labels, **slo.labels, **ident}
    alerts = resolve_alerts(spec, index)
    ratio = options.sli_override or error_ratio(slo.sli)
    interval = options.evaluation_interval / options.scale
    windows = _windows(slo, alerts)
    sel = "{" + ",".join(f'{k}="{v}"' for k, v in ident.items()) + "}"

    sli_rules = _sli_rules(ratio, windows, series, sel, options.scale)
    meta_rules = _meta_rules(slo, series, sel)
    alert_rules = tuple(_alert_rule(a, series, sel, options) for a in alerts)
    groups = (
        RuleGroup(f"sloth-slo-sli-recordings-{sid}", interval, sli_rules),
        RuleGroup(f"sloth-slo-meta-recordings-{sid}", interval, meta_rules),
        RuleGroup(f"sloth-slo-alerts-{sid}", interval, alert_rules),
    )
    return SLORules(slo, sid, series, alerts, groups if alert_rules else groups[:2])


def _windows(slo: SLO, alerts: tuple[ResolvedAlert, ...]) -> tuple[Duration, ...]:
    ws = {w for a in alerts for c in a.conditions for w in c.windows}
    ws.add(slo.period)
    if slo.period > CURRENT_WINDOW:
        ws.add(CURRENT_WINDOW)
    return tuple(sorted(ws))


def _sli_rules(
    ratio: ErrorRatio,
    windows: tuple[Duration, ...],
    series: dict[str, str],
    sel: str,
    scale: Fraction,
) -> tuple[RecordingRule, ...]:
    rules: list[RecordingRule] = []
    if not ratio.windowed:
        rules.append(RecordingRule("slo:sli_error:ratio_base", ratio.base(scale), dict(series)))
    for w in windows:
        if ratio.windowed:
            expr = ratio.over(w, scale)
        else:
            expr = f"avg_over_time(slo:sli_error:ratio_base{sel}[{(w / scale).prometheus()}])"
        rules.append(RecordingRule(window_record(w), expr, {**series, "sloth_window": w.label()}))
    return tuple(rules)


def _meta_rules(slo: SLO, series: dict[str, str], sel: str) -> tuple[RecordingRule, ...]:
    on = "on(" + ", ".join(IDENTITY_LABELS) + ") group_left"
    period = window_record(slo.period)
    days = slo.period.seconds / 86400
    objective = format(1 - float(budget_literal(slo)), ".15g")
    return (
        RecordingRule("slo:objective:ratio", f"vector({objective})", dict(series)),
        RecordingRule("slo:error_budget:ratio", f"vector({budget_literal(slo)})", dict(series)),
        RecordingRule("slo:time_period:days", f"vector({days:g})", dict(series)),
        RecordingRule(
            "slo:current_burn_rate:ratio",
            f"{window_record(CURRENT_WINDOW)}{sel}\n/ {on}\nslo:error_budget:ratio{sel}",
            dict(series),
        )
        if slo.period > CURRENT_WINDOW
        else RecordingRule(
            "slo:current_burn_rate:ratio",
            f"{period}{sel}\n/ {on}\nslo:error_budget:ratio{sel}",
            dict(series),
        ),
        RecordingRule(
            "slo:period_burn_rate:ratio",
            f"{period}{sel}\n/ {on}\nslo:error_budget:ratio{sel}",
            dict(series),
        ),
        RecordingRule(
            "slo:period_error_budget_remaining:ratio",
            f"1 - slo:period_burn_rate:ratio{sel}",
            dict(series),
        ),
        RecordingRule(
            "sloth_slo_info",
            "vector(1)",
            {**series, "sloth_mode": "sloverify", "sloth_objective": repr(slo.objective)},
        ),
    )


def condition_expr(cond: Condition, sel: str) -> str:
    """PromQL that holds while every window of the condition is over its threshold."""
    threshold = f"({cond.factor!r} * {cond.budget})" if cond.budget else repr(cond.threshold)
    parts = [
        f"max({window_record(w)}{sel} {cond.op.value} {threshold}) without (sloth_window)"
        for w in cond.windows
    ]
    return "(\n  " + "\nand\n  ".join(parts) + "\n)"


def synthetic_query(alert: ResolvedAlert) -> str:
    """The gauge a proof feeds in place of a query alert's query."""
    return f'max(sloverify_proof_value{{alert="{alert.name}"}})'


def query_alert_expr(alert: ResolvedAlert, scale: Fraction) -> str:
    """A query alert's query at time scale ``scale``: its window filled in, ranges divided."""
    assert alert.query is not None
    q = alert.query
    return scale_ranges(q.query.replace("{{.window}}", q.window.prometheus()), scale)


def _alert_rule(
    alert: ResolvedAlert, series: dict[str, str], sel: str, options: RuleOptions
) -> AlertingRule:
    scale = options.scale
    if alert.query is not None:
        q = alert.query
        if options.synthetic_queries:
            query = synthetic_query(alert)
        else:
            query = query_alert_expr(alert, scale)
        expr = f"({query}) {q.op.value} {q.value!r}"
    else:
        expr = "\nor\n".join(condition_expr(c, sel) for c in alert.conditions)
    labels = {**series, "severity": alert.severity, **alert.labels}
    labels.pop("sloth_window", None)
    annotations = alert.annotations or {
        "summary": f"{series['sloth_service']} {series['sloth_slo']}: {alert.name}",
        "description": _describe(alert),
    }
    return AlertingRule(alert.name, expr, alert.for_ / scale, labels, annotations)


def _describe(alert: ResolvedAlert) -> str:
    if alert.query is not None:
        return f"{alert.query.query} {alert.query.op.value} {alert.query.value} over {alert.query.window}"
    return " or ".join(
        " and ".join(f"error ratio over {w}" for w in c.windows)
        + f" {c.op.value} {c.threshold:.6g}"
        + (f" ({c.factor:g}x budget)" if c.factor else "")
        for c in alert.conditions
    )
