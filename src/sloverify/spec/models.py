"""The SLO spec as frozen, validated models: ``sloverify/v1``, a superset of Sloth's ``prometheus/v1``.

Sloth's fields keep Sloth's names and defaults (30d period, page and ticket alerts). The
extensions each exist because one of the SLO documents needs them: per-SLO periods, latency and
time-slice SLIs, explicit alert kinds, the figures a document states about itself, the endpoint
scope an SLI is meant to cover and the exporter whose labels it selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

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
    "LOCATED_CHECKS",
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
    "Problem",
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
    "spec_problems",
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


def _endpoint(v: object) -> object:
    return Endpoint.parse(v) if isinstance(v, str) else v


# Validated item by item, so an error names the bad item's index (and so its line).
EndpointField = Annotated[Endpoint, BeforeValidator(_endpoint)]


class Scope(Frozen):
    """The endpoints an SLI is meant to cover, and the labels that carry method and path."""

    endpoints: tuple[EndpointField, ...] = Field(min_length=1)
    path_label: str = "path"
    method_label: str = "method"


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
    endpoints: tuple[EndpointField, ...] = Field(
        default=(),
        description="every endpoint the service has, so lint can see what a selector over-covers",
    )
    slos: tuple[SLO, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Spec:
        # The loader runs spec_problems itself, to name each problem's exact line.
        if not (info.context or {}).get(LOCATED_CHECKS):
            problems = spec_problems(self)
            if problems:
                raise ValueError(problems[0].message)
        return self


LOCATED_CHECKS = "sloverify.located_checks"


@dataclass(frozen=True)
class Problem:
    """A check across fields of a valid-looking spec, with the path it points at."""

    path: tuple[str | int, ...]
    message: str
    hint: str = ""


def spec_problems(spec: Spec) -> list[Problem]:
    """Unique SLO names, and no sloverify extension in a Sloth prometheus/v1 spec."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, slo in enumerate(spec.slos):
        if slo.name in seen:
            problems.append(
                Problem(
                    ("slos", i, "name"),
                    f"two SLOs are named {slo.name!r}; SLO names must be unique",
                    "rename one of them",
                )
            )
        seen.add(slo.name)
        if spec.version is SpecVersion.SLOTH:
            problems.extend(_extensions(i, slo))
    return problems


def _extensions(index: int, slo: SLO) -> list[Problem]:
    used: list[tuple[str | int, ...]] = [
        (f,)
        for f in ("stated", "scope", "period")
        if getattr(slo, f) != SLO.model_fields[f].get_default(call_default_factory=True)
    ]
    if slo.sli.kind in (SLIKind.LATENCY, SLIKind.TIME_SLICES):
        used.append(("sli", slo.sli.kind.value))
    if slo.alerting.alerts is not None:
        used.append(("alerting", "alerts"))
    return [
        Problem(
            ("slos", index, *path),
            f"SLO {slo.name!r} uses a sloverify extension ({'.'.join(map(str, path))}) "
            "in a Sloth prometheus/v1 spec",
            "set version: sloverify/v1",
        )
        for path in used
    ]
