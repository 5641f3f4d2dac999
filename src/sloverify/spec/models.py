"""The SLO spec as frozen, validated models: ``sloverify/v1``, a superset of Sloth's ``prometheus/v1``.

Sloth's fields keep Sloth's names and defaults (30d period, page and ticket alerts). The
extensions each exist because one of the SLO documents needs them: per-SLO periods, latency and
time-slice SLIs, explicit alert kinds, the figures a document states about itself, the endpoint
scope an SLI is meant to cover and the exporter whose labels it selects.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from sloverify.spec.alerting import (
    Alert,
    AlertBase,
    Alerting,
    AlertKind,
    BudgetConsumedAlert,
    BurnRateAlert,
    BurnWindow,
    SlothAlertTier,
    ThresholdAlert,
    ThresholdTarget,
)
from sloverify.spec.base import WINDOW_PLACEHOLDER, Exporter, Frozen, Op, SpecVersion
from sloverify.spec.durations import Duration, DurationField
from sloverify.spec.sli import (
    SLI,
    EventsSLI,
    LatencySLI,
    PluginSLI,
    RawSLI,
    SLIKind,
    TimeSliceSLI,
)

__all__ = [
    "SLI",
    "SLO",
    "WINDOW_PLACEHOLDER",
    "Alert",
    "AlertBase",
    "AlertKind",
    "Alerting",
    "BudgetConsumedAlert",
    "BurnRateAlert",
    "BurnWindow",
    "Endpoint",
    "EventsSLI",
    "Exporter",
    "Frozen",
    "LatencySLI",
    "Op",
    "PluginSLI",
    "RawSLI",
    "SLIKind",
    "Scope",
    "SlothAlertTier",
    "Spec",
    "SpecVersion",
    "Stated",
    "ThresholdAlert",
    "ThresholdTarget",
    "TimeSliceSLI",
]


# --- stated figures and scope -----------------------------------------------------------------


class Stated(Frozen):
    """Figures the document states about itself, so lint can check its arithmetic."""

    error_budget_percent: float | None = None
    budget_minutes_per_day: float | None = None
    budget_minutes_per_week: float | None = None
    budget_minutes_per_period: float | None = None
    period_minutes: float | None = None
    measurement_window: DurationField | None = None
    metric: str | None = Field(default=None, description="the metric the document's text names")
    requests_per_second: float | None = Field(default=None, gt=0)


class Endpoint(Frozen):
    """One HTTP endpoint: method and route template (``GET /api/v1/runs/{id}``)."""

    method: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """Parse ``"METHOD /path"``."""
        parts = text.split()
        if len(parts) != 2 or not parts[1].startswith("/"):
            raise ValueError(f"endpoint {text!r} must look like 'GET /path/{{id}}'")
        return cls(method=parts[0].upper(), path=parts[1])

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _endpoints(v: object) -> object:
    if isinstance(v, list | tuple):
        return tuple(Endpoint.parse(x) if isinstance(x, str) else x for x in v)
    return v


class Scope(Frozen):
    """The endpoints an SLI is meant to cover, and the labels that carry method and path."""

    endpoints: tuple[Endpoint, ...] = Field(min_length=1)
    path_label: str = "path"
    method_label: str = "method"

    @field_validator("endpoints", mode="before")
    @classmethod
    def _parse_endpoints(cls, v: object) -> object:
        return _endpoints(v)


# --- SLO and spec -----------------------------------------------------------------------------


class SLO(Frozen):
    """One objective over a period, measured by one SLI, with its alerts."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$")
    objective: float
    description: str = ""
    period: DurationField = Field(default=Duration.parse("30d"))
    labels: dict[str, str] = {}
    sli: SLI
    alerting: Alerting = Alerting()
    stated: Stated = Stated()
    scope: Scope | None = None

    @field_validator("objective")
    @classmethod
    def _objective_in_range(cls, v: float) -> float:
        if not 0 < v < 100:
            raise ValueError(
                f"objective {v} is impossible: write a percentage strictly between 0 and 100, "
                "such as 99.9"
            )
        return v

    @field_validator("period")
    @classmethod
    def _period_positive(cls, v: Duration) -> Duration:
        if not v:
            raise ValueError("period must be longer than 0s")
        return v

    @property
    def budget(self) -> float:
        """The error budget as a ratio: 1 - objective."""
        return 1 - self.objective / 100


class Spec(Frozen):
    """One service's SLOs: Sloth ``prometheus/v1`` or ``sloverify/v1``."""

    version: SpecVersion
    service: str = Field(pattern=r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$")
    labels: dict[str, str] = {}
    document: str | None = Field(default=None, description="the source document this encodes")
    endpoints: tuple[Endpoint, ...] = Field(
        default=(),
        description="every endpoint the service has, so lint can see what a selector over-covers",
    )
    slos: tuple[SLO, ...] = Field(min_length=1)

    @field_validator("endpoints", mode="before")
    @classmethod
    def _parse_endpoints(cls, v: object) -> object:
        return _endpoints(v)

    @model_validator(mode="after")
    def _unique_names(self) -> Spec:
        seen: set[str] = set()
        for slo in self.slos:
            if slo.name in seen:
                raise ValueError(f"two SLOs are named {slo.name!r}; SLO names must be unique")
            seen.add(slo.name)
        return self

    @model_validator(mode="after")
    def _sloth_subset(self) -> Spec:
        if self.version is SpecVersion.SLOTH:
            for slo in self.slos:
                extras = [
                    f
                    for f in ("stated", "scope", "period")
                    if getattr(slo, f) != SLO.model_fields[f].get_default(call_default_factory=True)
                ]
                if slo.sli.kind in (SLIKind.LATENCY, SLIKind.TIME_SLICES):
                    extras.append(f"sli.{slo.sli.kind.value}")
                if slo.alerting.alerts is not None:
                    extras.append("alerting.alerts")
                if extras:
                    raise ValueError(
                        f"SLO {slo.name!r} uses sloverify extensions ({', '.join(extras)}); "
                        "set version: sloverify/v1"
                    )
        return self
