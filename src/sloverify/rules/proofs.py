"""promtool unit tests generated from a spec alone: each alert fires, stays silent and resolves.

For every alert two tests run at real time scale:

- *above*: a step fault at 1.1x the alert's lowest threshold fires by the predicted time (not
  earlier than one interval before it, and by one interval after it) and, once the fault ends,
  resolves by the predicted reset time;
- *below*: a fault at 0.9x that threshold, held until every window is saturated, never fires.

The SLI's own PromQL is replaced by synthetic series (a counter pair for a windowed SLI, a ratio
gauge for a base SLI, a value gauge for a query alert) so the proof exercises the generated
window, budget and alert rules and not the service's metrics; those are proven live.
Annotations with templates are dropped, since promtool compares annotations exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sloverify.rules.alerts import ResolvedAlert
from sloverify.rules.generate import AlertingRule, RuleOptions, SLORules, generate_slo
from sloverify.rules.proof_series import Timeline, counter_pair, gauge
from sloverify.rules.render import Yamlable, dump, rule_file
from sloverify.rules.sli import ErrorRatio, error_ratio
from sloverify.rules.theory import Fault, alert_timing
from sloverify.spec import Duration, Op, Spec

ABOVE, BELOW = 1.1, 0.9
_NICE = [
    Duration.parse(x)
    for x in (
        [
            "1s",
            "2s",
            "5s",
            "10s",
            "15s",
            "30s",
            "1m",
            "2m",
            "5m",
            "10m",
            "15m",
            "20m",
            "30m",
            "1h",
            "2h",
            "3h",
            "6h",
            "12h",
            "1d",
        ]
    )
]


@dataclass(frozen=True)
class Check:
    """One expectation at one evaluation time, in words for the report."""

    at_seconds: float
    firing: bool
    what: str


@dataclass(frozen=True)
class AlertProof:
    """The generated promtool files for one alert and what they check."""

    slo: str
    alert: ResolvedAlert
    interval: Duration
    rules_name: str
    rules_text: str
    test_name: str
    test_text: str
    checks: tuple[Check, ...]

    @property
    def label(self) -> str:
        """``SLO/Alert[severity]`` for reports."""
        return f"{self.slo}/{self.alert.name}[{self.alert.severity}]"


class Unprovable(ValueError):
    """An alert that no fault can make fire (its threshold is at or above a total outage)."""


@dataclass(frozen=True)
class Unproven:
    """An alert no proof can be generated for, and why."""

    label: str
    reason: str


def proof_interval(alert: ResolvedAlert) -> Duration:
    """An evaluation interval fine enough for the shortest window, coarse enough for the longest."""
    ws = alert.windows
    target = min(ws[-1] / 5, ws[0] / 60)
    # It must also divide 'for', or the firing check lands between two evaluations.
    fitting = [n for n in _NICE if n <= target and alert.for_.ms % n.ms == 0]
    return fitting[-1] if fitting else _NICE[0]


def prove_spec(spec: Spec, stem: str) -> tuple[tuple[AlertProof, ...], tuple[Unproven, ...]]:
    """Proofs for every alert of every SLO of a spec, and the alerts none can be made for."""
    out: list[AlertProof] = []
    unproven: list[Unproven] = []
    for index, slo in enumerate(spec.slos):
        ratio = error_ratio(slo.sli)
        override = ErrorRatio(
            windowed_template=None if not ratio.windowed else _COUNTER_RATIO.format(slo=slo.name),
            base_expr=None
            if ratio.windowed
            else f'max(sloverify_proof_error_ratio{{slo="{slo.name}"}})',
        )
        base = generate_slo(spec, index, RuleOptions(sli_override=override, synthetic_queries=True))
        for n, alert in enumerate(base.alerts):
            try:
                out.append(_prove_alert(spec, index, base, n, alert, ratio.windowed, stem))
            except Unprovable as exc:
                unproven.append(Unproven(f"{slo.name}/{alert.name}[{alert.severity}]", str(exc)))
    return tuple(out), tuple(unproven)


_COUNTER_RATIO = (
    'sum(rate(sloverify_proof_errors_total{{slo="{slo}"}}[{{{{.window}}}}]))\n/\n'
    'sum(rate(sloverify_proof_requests_total{{slo="{slo}"}}[{{{{.window}}}}]))'
)


def _prove_alert(
    spec: Spec, index: int, base: SLORules, n: int, alert: ResolvedAlert, windowed: bool, stem: str
) -> AlertProof:
    slo = spec.slos[index]
    interval = proof_interval(alert)
    rules = _proof_rules(base, interval, n)
    rule = _alert_rules(rules)[0]
    name = f"{stem}-{slo.name}-{n:02d}-{alert.name}-{alert.severity}"
    series_name = "sloverify_proof_value" if alert.query else None
    tests: list[Yamlable] = []
    checks: list[Check] = []
    for direction in (ABOVE, BELOW):
        timeline = _timeline(alert, direction, interval)
        input_series = (
            gauge(series_name or "", {"alert": alert.name}, timeline)
            if series_name
            else (
                counter_pair(slo.name, timeline)
                if windowed
                else gauge("sloverify_proof_error_ratio", {"slo": slo.name}, timeline)
            )
        )
        alert_tests: list[Yamlable] = []
        for check in timeline.checks:
            checks.append(check)
            expected = [
                {"exp_labels": dict(rule.labels), "exp_annotations": dict(rule.annotations)}
            ]
            alert_tests.append(
                {
                    "eval_time": Duration.of_seconds(check.at_seconds).prometheus(),
                    "alertname": alert.name,
                    "exp_alerts": expected if check.firing else [],
                }
            )
        tests.append(
            {
                "name": f"{alert.name} [{alert.severity}] {timeline.title}",
                "interval": interval.prometheus(),
                "input_series": input_series,
                "alert_rule_test": alert_tests,
            }
        )
    test_doc: dict[str, Yamlable] = {
        "rule_files": [f"{name}.rules.yml"],
        "evaluation_interval": interval.prometheus(),
        # Without an order promtool 2.42 evaluates groups in Go map order: an alert group run
        # before its recordings reads values one interval old, or none past the lookback.
        "group_eval_order": [g.name for g in rules.groups],
        "tests": tests,
    }
    header = f"promtool proof rules for {alert.name} ({slo.name}); generated by sloverify"
    return AlertProof(
        slo=slo.name,
        alert=alert,
        interval=interval,
        rules_name=f"{name}.rules.yml",
        rules_text=rule_file(rules.groups, header),
        test_name=f"{name}.test.yml",
        test_text=f"# {header}\n" + dump(test_doc),
        checks=tuple(checks),
    )


def _proof_rules(base: SLORules, interval: Duration, alert_index: int) -> SLORules:
    # Only the alert under test: alerts never read each other, and a same-name sibling
    # (Sloth's page and ticket) would otherwise need its own, longer, warm-up.
    groups = []
    for g in base.groups:
        alerts = [r for r in g.rules if isinstance(r, AlertingRule)]
        kept = (alerts[alert_index],) if alerts else g.rules
        rules = tuple(
            replace(r, annotations={k: v for k, v in r.annotations.items() if "{{" not in v})
            if isinstance(r, AlertingRule)
            else r
            for r in kept
        )
        groups.append(replace(g, interval=interval, rules=rules))
    return replace(base, groups=tuple(groups))


def _alert_rules(rules: SLORules) -> list[AlertingRule]:
    return [r for g in rules.groups for r in g.rules if isinstance(r, AlertingRule)]


def _timeline(alert: ResolvedAlert, direction: float, interval: Duration) -> Timeline:
    step = interval.seconds
    longest = alert.windows[0].seconds
    warmup = math.ceil(longest / step) + 1
    if alert.query is not None:
        return _query_timeline(alert, direction, step, warmup)
    threshold = alert.lowest_threshold
    error = threshold * direction
    if direction > 1 and error >= 1:
        error = (threshold + 1) / 2
    if threshold >= 1 or (
        direction > 1 and not any(c.op.holds(error, c.threshold) for c in alert.conditions)
    ):
        raise Unprovable(
            f"{alert.name}: threshold error ratio {threshold:.6g} cannot be exceeded by any fault"
        )
    if direction < 1:
        steps = warmup + 2 * math.ceil(longest / step) + 2
        checks = (
            Check(
                (warmup + math.ceil(longest / step) + 1) * step,
                False,
                f"silent with every window full at error ratio {error:.6g} (0.9x threshold)",
            ),
            Check(steps * step, False, f"still silent at {Duration.of_seconds(steps * step)}"),
        )
        return Timeline(
            "stays silent just below its threshold", step, warmup, None, error, steps, checks
        )
    timing = alert_timing(alert, Fault(error))
    assert timing.fires_after is not None
    fire_steps = math.ceil(timing.fires_after / step)
    fault_steps = fire_steps + 2
    reset = alert_timing(alert, Fault(error, fault_steps * step)).resets_after or 0.0
    end = warmup + fault_steps
    reset_steps = math.ceil(reset / step)
    total = end + reset_steps + 3
    checks_list = []
    if fire_steps - 1 >= 1:
        checks_list.append(
            Check(
                (warmup + fire_steps - 1) * step,
                False,
                f"not yet firing one interval before the predicted "
                f"{Duration.of_seconds(timing.fires_after)}",
            )
        )
    checks_list.append(
        Check(
            (warmup + fire_steps + 1) * step,
            True,
            f"firing within one interval of the predicted "
            f"{Duration.of_seconds(timing.fires_after)} at error ratio {error:.6g}",
        )
    )
    if reset_steps - 1 >= 1:
        checks_list.append(
            Check(
                (end + reset_steps - 1) * step,
                True,
                "still firing one interval before the predicted reset",
            )
        )
    checks_list.append(
        Check(
            (end + reset_steps + 1) * step,
            False,
            f"resolved within one interval of the predicted reset "
            f"{Duration.of_seconds(reset)} after the fault",
        )
    )
    return Timeline(
        "fires just above its threshold and resets",
        step,
        warmup,
        fault_steps,
        error,
        total,
        tuple(checks_list),
    )


def _query_timeline(alert: ResolvedAlert, direction: float, step: float, warmup: int) -> Timeline:
    q = alert.query
    assert q is not None
    firing_value, silent_value = _query_values(q.op, q.value)
    for_steps = math.ceil(alert.for_.seconds / step)
    if direction < 1:
        total = warmup + for_steps + 10
        return Timeline(
            "stays silent on the quiet side of its threshold",
            step,
            warmup,
            None,
            silent_value,
            total,
            (Check(total * step, False, f"silent at value {silent_value:g}"),),
            quiet=silent_value,
        )
    fault_steps = for_steps + 3
    end = warmup + fault_steps
    checks = []
    if for_steps >= 2:
        checks.append(Check((warmup + for_steps - 1) * step, False, "pending during 'for'"))
    checks.append(Check((warmup + for_steps + 1) * step, True, f"firing at value {firing_value:g}"))
    checks.append(Check((end + 1) * step, False, "resolved once the value is back"))
    return Timeline(
        "fires past its threshold and resolves",
        step,
        warmup,
        fault_steps,
        firing_value,
        end + 3,
        tuple(checks),
        quiet=silent_value,
    )


def _query_values(op: Op, value: float) -> tuple[float, float]:
    delta = abs(value) * 0.1 or 1.0
    return {
        Op.GT: (value + delta, value),
        Op.GE: (value, value - delta),
        Op.LT: (value - delta, value),
        Op.LE: (value, value + delta),
    }[op]
