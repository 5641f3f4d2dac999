"""Prometheus and Alertmanager configuration for a run, scaled by its time scale.

Every Alertmanager receiver delivers to sloverify's webhook at ``/hook/<receiver>``, so a
recorded notification proves which route an alert took.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from sloverify.rules.render import Yamlable, dump
from sloverify.spec import Duration

_D = Duration.parse
# Real-time defaults, divided by the time scale.
SCRAPE_INTERVAL = _D("15s")
EVALUATION_INTERVAL = _D("30s")
LOOKBACK_DELTA = _D("5m")
GROUP_WAIT = _D("30s")
GROUP_INTERVAL = _D("5m")
REPEAT_INTERVAL = _D("4h")
DEFAULT_SEVERITIES = ("page", "critical", "ticket", "warning", "emergency")
# Prometheus refuses scrape timeouts above the interval and intervals below 1ms.
_FLOOR = Duration(Fraction(10))


@dataclass(frozen=True)
class ScrapeJob:
    """A Prometheus scrape job over static 127.0.0.1 targets."""

    name: str
    targets: tuple[str, ...]
    metrics_path: str = "/metrics"
    labels: dict[str, str] = field(default_factory=dict)


def scaled(d: Duration, scale: Fraction) -> Duration:
    """``d / scale``, never below 10ms (Prometheus and Alertmanager need room to work)."""
    return max(d / scale, _FLOOR)


def prometheus_config(
    scale: Fraction,
    alertmanager: str | None,
    jobs: Sequence[ScrapeJob],
    rule_glob: str,
) -> str:
    """prometheus.yml for a run."""
    scrape = scaled(SCRAPE_INTERVAL, scale)
    doc: dict[str, Yamlable] = {
        "global": {
            "scrape_interval": scrape.prometheus(),
            "scrape_timeout": scrape.prometheus(),
            "evaluation_interval": scaled(EVALUATION_INTERVAL, scale).prometheus(),
        },
        "rule_files": [rule_glob],
        "scrape_configs": [_job(j) for j in jobs],
    }
    if alertmanager:
        doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return dump(doc)


def _job(job: ScrapeJob) -> dict[str, Yamlable]:
    static: dict[str, Yamlable] = {"targets": list(job.targets)}
    if job.labels:
        static["labels"] = dict(job.labels)
    return {"job_name": job.name, "metrics_path": job.metrics_path, "static_configs": [static]}


def lookback_delta(scale: Fraction) -> Duration:
    """How long a vanished series stays visible: 5m, scaled, but at least two scrapes."""
    return max(scaled(LOOKBACK_DELTA, scale), scaled(SCRAPE_INTERVAL, scale) * 2)


def alertmanager_config(
    scale: Fraction, webhook: str, severities: Sequence[str] = DEFAULT_SEVERITIES
) -> str:
    """alertmanager.yml: one route and receiver per severity, all to sloverify's webhook."""
    timers: dict[str, Yamlable] = {
        "group_wait": scaled(GROUP_WAIT, scale).prometheus(),
        "group_interval": scaled(GROUP_INTERVAL, scale).prometheus(),
        "repeat_interval": scaled(REPEAT_INTERVAL, scale).prometheus(),
    }
    names = list(dict.fromkeys(severities))
    doc: dict[str, Yamlable] = {
        "route": {
            "receiver": "default",
            "group_by": ["alertname", "sloth_slo", "severity"],
            **timers,
            "routes": [
                {"matchers": [f'severity="{s}"'], "receiver": s, "continue": False} for s in names
            ],
        },
        "receivers": [
            {
                "name": r,
                "webhook_configs": [{"url": f"{webhook}/hook/{r}", "send_resolved": True}],
            }
            for r in ["default", *names]
        ],
    }
    return dump(doc)
