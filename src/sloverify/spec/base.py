"""Shared building blocks of the spec models: the frozen base and the closed sets."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base for every spec model: immutable, and unknown fields are errors."""

    # allow_inf_nan=False: ".inf" as a factor or threshold is never what a spec means.
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )


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
