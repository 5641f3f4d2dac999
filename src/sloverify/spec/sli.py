"""SLI models: events, raw ratios, latency histograms and time slices."""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from sloverify.spec.base import Exporter, Frozen, Op
from sloverify.spec.durations import DurationField


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
        given = [
            k for k in ("events", "raw", "latency", "time_slices", "plugin") if getattr(self, k)
        ]
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
