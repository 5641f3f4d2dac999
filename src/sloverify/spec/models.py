"""The SLO spec as frozen, validated models: ``sloverify/v1``, a superset of Sloth's ``prometheus/v1``.

Sloth's fields keep Sloth's names and defaults (30d period, page and ticket alerts). The
extensions each exist because one of the SLO documents needs them: per-SLO periods, latency and
time-slice SLIs, explicit alert kinds, the figures a document states about itself, the endpoint
scope an SLI is meant to cover and the exporter whose labels it selects.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sloverify.spec.durations import Duration, DurationField


class Frozen(BaseModel):
    """Base for every spec model: immutable, and unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SpecVersion(StrEnum):
    """Accepted ``version`` values."""

    SLOTH = "prometheus/v1"
    SLOVERIFY = "sloverify/v1"


class Exporter(StrEnum):
    """Exporters whose emitted metric and label names lint knows."""

    STARLETTE_EXPORTER = "starlette_exporter"
    PROMETHEUS_FASTAPI_INSTRUMENTATOR = "prometheus_fastapi_instrumentator"
    KUBE_STATE_METRICS = "kube_state_metrics"
    CUSTOM = "custom"


class Op(StrEnum):
    """Comparison operators for thresholds."""

    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="

    def holds(self, left: float, right: float) -> bool:
        """Whether ``left <op> right``."""
        return {
            Op.GT: left > right,
            Op.GE: left >= right,
            Op.LT: left < right,
            Op.LE: left <= right,
        }[self]


WINDOW_PLACEHOLDER = "{{.window}}"


# --- SLIs -------------------------------------------------------------------------------------


class EventsSLI(Frozen):
    """Bad (or good) events over total events, as PromQL with Sloth's ``{{.window}}``."""

    error_query: str | None = None
    good_query: str | None = None
    total_query: str

    @model_validator(mode="after")
    def _one_numerator(self) -> EventsSLI:
        if (self.error_query is None) == (self.good_query is None):
            raise ValueError("give exactly one of error_query or good_query (with total_query)")
        return self


class RawSLI(Frozen):
    """A ready-made error (or good) ratio query, Sloth's ``raw`` SLI."""

    error_ratio_query: str | None = None
    good_ratio_query: str | None = None

    @model_validator(mode="after")
    def _one_query(self) -> RawSLI:
        if (self.error_ratio_query is None) == (self.good_ratio_query is None):
            raise ValueError("give exactly one of error_ratio_query or good_ratio_query")
        return self


class LatencySLI(Frozen):
    """Share of requests slower than ``threshold``, from a Prometheus histogram."""

    histogram: str = Field(description="histogram base name, without _bucket/_count")
    selector: str = Field(default="", description='label matchers, e.g. {service="api"}')
    threshold: float = Field(gt=0)
    buckets: tuple[float, ...] = Field(min_length=1, description="the histogram's bucket bounds")

    @model_validator(mode="after")
    def _threshold_is_bucket(self) -> LatencySLI:
        if not any(math.isclose(b, self.threshold, rel_tol=1e-9) for b in self.buckets):
            raise ValueError(
                f"threshold {self.threshold} is not a bucket boundary of {self.histogram} "
                f"(buckets: {', '.join(map(str, self.buckets))}); a histogram can only tell "
                "requests apart at its bucket bounds"
            )
        return self

    @field_validator("selector")
    @classmethod
    def _braced(cls, v: str) -> str:
        v = v.strip()
        if v and not (v.startswith("{") and v.endswith("}")):
            raise ValueError('selector must be label matchers in braces, e.g. {service="api"}')
        return v


class TimeSliceSLI(Frozen):
    """Share of time slices whose value breaks a threshold ("p95 < 300ms in 99% of 5m slices")."""

    query: str = Field(description="the value of one slice; {{.window}} is the slice length")
    good_when: Op = Field(description="a slice is good when `query <good_when> threshold`")
    threshold: float
    slice: DurationField


class PluginSLI(Frozen):
    """Sloth's plugin SLI: accepted by the schema, refused with a clear message."""

    id: str
    options: dict[str, str] = {}


class SLIKind(StrEnum):
    """The kinds of SLI a spec can give."""

    EVENTS = "events"
    RAW = "raw"
    LATENCY = "latency"
    TIME_SLICES = "time_slices"


class SLI(Frozen):
    """Exactly one SLI kind, plus the exporter whose label names its queries select."""

    events: EventsSLI | None = None
    raw: RawSLI | None = None
    latency: LatencySLI | None = None
    time_slices: TimeSliceSLI | None = None
    plugin: PluginSLI | None = None
    exporter: Exporter | None = None
    exporter_labels: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="for exporter: custom, the label names each metric carries",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SLI:
        given = [k for k in ("events", "raw", "latency", "time_slices", "plugin") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one SLI kind: events, raw, latency or time_slices"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.plugin is not None:
            raise ValueError(
                f"Sloth SLI plugins ({self.plugin.id}) are not supported; expand the plugin into "
                "an events or raw SLI"
            )
        return self

    @property
    def kind(self) -> SLIKind:
        """Which SLI kind this is."""
        for kind in SLIKind:
            if getattr(self, kind.value) is not None:
                return kind
        raise AssertionError("validated SLI without a kind")


# --- alerts -----------------------------------------------------------------------------------


class AlertKind(StrEnum):
    """The kinds of alert rule a spec can ask for."""

    BURN_RATE = "burn_rate"
    BUDGET_CONSUMED = "budget_consumed"
    THRESHOLD = "threshold"


class BurnWindow(Frozen):
    """One burn-rate condition: the error ratio over ``long`` (and ``short``) above factor * budget."""

    long: DurationField
    short: DurationField | None = None
    factor: float = Field(gt=0)

    @model_validator(mode="after")
    def _short_is_shorter(self) -> BurnWindow:
        if self.short is not None and self.short >= self.long:
            raise ValueError(f"short window {self.short} must be shorter than long window {self.long}")
        return self


class AlertBase(Frozen):
    """Fields every alert kind shares: name, severity, ``for`` and routing labels."""

    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    severity: str = Field(default="page", pattern=r"^[a-zA-Z0-9_-]+$")
    for_: DurationField = Field(default=Duration.parse("0s"), alias="for")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class BurnRateAlert(AlertBase):
    """Fires when any of its window conditions holds (Sloth ORs a page's two window pairs)."""

    kind: Literal[AlertKind.BURN_RATE] = AlertKind.BURN_RATE
    windows: tuple[BurnWindow, ...] = Field(min_length=1)


class BudgetConsumedAlert(AlertBase):
    """Fires when the error budget consumed over the SLO period reaches ``percent``."""

    kind: Literal[AlertKind.BUDGET_CONSUMED] = AlertKind.BUDGET_CONSUMED
    percent: float = Field(gt=0, le=1000)


class ThresholdTarget(StrEnum):
    """What a threshold alert compares: the SLO's own ratios, or a free query."""

    ERROR_RATIO = "error_ratio"
    GOOD_RATIO = "good_ratio"
    QUERY = "query"


class ThresholdAlert(AlertBase):
    """A plain threshold over a window: the SLI's ratio, or a query such as a lag gauge."""

    kind: Literal[AlertKind.THRESHOLD] = AlertKind.THRESHOLD
    target: ThresholdTarget = ThresholdTarget.ERROR_RATIO
    query: str | None = Field(default=None, description="for target: query; may use {{.window}}")
    window: DurationField
    op: Op
    value: float

    @model_validator(mode="after")
    def _consistent(self) -> ThresholdAlert:
        if (self.target is ThresholdTarget.QUERY) != (self.query is not None):
            raise ValueError("give query exactly when target is 'query'")
        if self.target is ThresholdTarget.ERROR_RATIO and self.op not in (Op.GT, Op.GE):
            raise ValueError("an error_ratio threshold must use > or >= (it would fire when healthy)")
        if self.target is ThresholdTarget.GOOD_RATIO and self.op not in (Op.LT, Op.LE):
            raise ValueError("a good_ratio threshold must use < or <= (it would fire when healthy)")
        if self.target is not ThresholdTarget.QUERY and not 0 < self.value < 1:
            raise ValueError(f"a ratio threshold must lie in (0, 1), got {self.value}")
        return self


Alert = Annotated[BurnRateAlert | BudgetConsumedAlert | ThresholdAlert, Field(discriminator="kind")]


class SlothAlertTier(Frozen):
    """Sloth's ``page_alert`` / ``ticket_alert`` block."""

    disable: bool = False
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Alerting(Frozen):
    """Sloth's alerting block, plus ``alerts``: an explicit list that replaces the defaults."""

    name: str | None = Field(default=None, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    page_alert: SlothAlertTier = SlothAlertTier()
    ticket_alert: SlothAlertTier = SlothAlertTier()
    alerts: tuple[Alert, ...] | None = None


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
        default=(), description="every endpoint the service has, so lint can see what a selector over-covers"
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
