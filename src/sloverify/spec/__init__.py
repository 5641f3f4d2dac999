"""Layer 1: the SLO spec as frozen models, and its loader. No I/O beyond reading the given file."""

from sloverify.spec.durations import Duration, DurationError
from sloverify.spec.loader import FieldPath, LoadedSpec, load_spec, load_spec_text
from sloverify.spec.models import (
    SLI,
    SLO,
    Alert,
    AlertKind,
    BudgetConsumedAlert,
    BurnRateAlert,
    BurnWindow,
    Exporter,
    Op,
    SLIKind,
    Spec,
    SpecVersion,
    ThresholdAlert,
    ThresholdTarget,
)

__all__ = [
    "SLI",
    "SLO",
    "Alert",
    "AlertKind",
    "BudgetConsumedAlert",
    "BurnRateAlert",
    "BurnWindow",
    "Duration",
    "DurationError",
    "Exporter",
    "FieldPath",
    "LoadedSpec",
    "Op",
    "SLIKind",
    "Spec",
    "SpecVersion",
    "ThresholdAlert",
    "ThresholdTarget",
    "load_spec",
    "load_spec_text",
]
