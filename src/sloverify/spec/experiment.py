"""A chaos experiment (``chaos/<stack>/*.yaml``): faults with timing, and what they must prove.

Durations are logical (real time, as the SLO documents write them); a live run divides them by
``time_scale``. Deadlines are never written here: they are computed from the spec and the error
ratio measured during the fault. Toxics mirror ``sloverify.adapters.toxiproxy``'s attribute
models (the spec layer cannot import adapters; the fault adapter converts).
"""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, field_validator

from sloverify.spec.base import Frozen, Op
from sloverify.spec.durations import Duration, DurationField

_NAME = r"^[a-z0-9][a-z0-9_.-]*$"
_ZERO = Duration.parse("0s")


# --- faults -----------------------------------------------------------------------------------


class FaultKind(StrEnum):
    """The faults an experiment can inject."""

    TOXIC = "toxic"
    PROXY_DISABLED = "proxy_disabled"
    KILL = "kill"
    PAUSE = "pause"
    CPU_HOG = "cpu_hog"
    MEMORY_HOG = "memory_hog"


class ToxicStream(StrEnum):
    """Which direction a toxic acts on (Toxiproxy's names)."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


class LatencyToxic(Frozen):
    """Delay every chunk by ``latency`` ms, plus or minus ``jitter`` ms."""

    type: Literal["latency"]
    latency: NonNegativeInt
    jitter: NonNegativeInt = 0


class BandwidthToxic(Frozen):
    """Limit the stream to ``rate`` KB/s."""

    type: Literal["bandwidth"]
    rate: NonNegativeInt


class SlowCloseToxic(Frozen):
    """Delay the TCP close by ``delay`` ms."""

    type: Literal["slow_close"]
    delay: NonNegativeInt


class TimeoutToxic(Frozen):
    """Stop all data, and close after ``timeout`` ms (0: never)."""

    type: Literal["timeout"]
    timeout: NonNegativeInt


class ResetPeerToxic(Frozen):
    """Reset the connection after ``timeout`` ms (0: at once)."""

    type: Literal["reset_peer"]
    timeout: NonNegativeInt = 0


class SlicerToxic(Frozen):
    """Slice data into ``average_size`` ± ``size_variation`` byte chunks, ``delay`` µs apart."""

    type: Literal["slicer"]
    average_size: NonNegativeInt
    size_variation: NonNegativeInt = 0
    delay: NonNegativeInt = 0


class LimitDataToxic(Frozen):
    """Close the connection once ``bytes`` bytes have passed."""

    type: Literal["limit_data"]
    bytes: NonNegativeInt


ToxicSpec = Annotated[
    LatencyToxic
    | BandwidthToxic
    | SlowCloseToxic
    | TimeoutToxic
    | ResetPeerToxic
    | SlicerToxic
    | LimitDataToxic,
    Field(discriminator="type"),
]


TOXIC_TYPES = (
    "latency",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_data",
)


class FaultBase(Frozen):
    """Timing every fault shares: ``start`` after the fault phase begins, for ``duration``."""

    name: str = Field(pattern=_NAME)
    start: DurationField = _ZERO
    duration: DurationField
    # Dry runs only: the error ratio each named SLO shows under this fault (what a live run
    # measured); the fault then moves only these SLOs. Without it every SLO sees the kind's
    # default (the toxicity; 1 for an outage), which is wrong where an edge serves one SLO.
    # A free-query alert's name sets what its query shows, apart from its SLO's ratio.
    simulated: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=dict)

    @field_validator("duration")
    @classmethod
    def _positive(cls, v: Duration) -> Duration:
        if not v:
            raise ValueError("a fault's duration must be longer than 0s")
        return v

    @property
    def end(self) -> Duration:
        """When the fault is removed, from the start of the fault phase."""
        return self.start + self.duration


class ToxicFault(FaultBase):
    """A Toxiproxy toxic on a named edge (a proxy of the stack)."""

    kind: Literal[FaultKind.TOXIC]
    edge: str = Field(pattern=_NAME)
    toxic: ToxicSpec
    stream: ToxicStream = ToxicStream.DOWNSTREAM
    # Toxiproxy decides per TCP connection; services open one per request (stacks/README.md).
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)


class ProxyDisabledFault(FaultBase):
    """The edge's proxy disabled: every connection refused (a dependency outage)."""

    kind: Literal[FaultKind.PROXY_DISABLED]
    edge: str = Field(pattern=_NAME)


class KillFault(FaultBase):
    """Kill a service ``times`` times, evenly over the duration (a crash loop when > 1)."""

    kind: Literal[FaultKind.KILL]
    service: str = Field(pattern=_NAME)
    times: int = Field(default=1, ge=1, le=1000)


class PauseFault(FaultBase):
    """Stop a service's process (SIGSTOP) for the duration, then continue it."""

    kind: Literal[FaultKind.PAUSE]
    service: str = Field(pattern=_NAME)


class CpuHogFault(FaultBase):
    """Busy loops beside a service: ``cores`` of them, for the duration."""

    kind: Literal[FaultKind.CPU_HOG]
    service: str = Field(pattern=_NAME)
    cores: int = Field(default=1, ge=1, le=64)


class MemoryHogFault(FaultBase):
    """Allocate and hold ``megabytes`` beside a service, for the duration."""

    kind: Literal[FaultKind.MEMORY_HOG]
    service: str = Field(pattern=_NAME)
    megabytes: int = Field(ge=1, le=65536)


FaultSpec = Annotated[
    ToxicFault | ProxyDisabledFault | KillFault | PauseFault | CpuHogFault | MemoryHogFault,
    Field(discriminator="kind"),
]


# --- expectations -----------------------------------------------------------------------------


class ExpectKind(StrEnum):
    """What an expectation claims."""

    FIRES = "fires"
    SILENT = "silent"
    SLI = "sli"
    BUDGET = "budget"
    RESOLVES = "resolves"
    RECOVERS = "recovers"


class AlertRef(Frozen):
    """An alert of one of the stack's specs, by name (and severity, when two share a name)."""

    alert: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    severity: str | None = None


class Fires(AlertRef):
    """The alert fires at Prometheus, and reaches its receiver, by its computed deadline."""

    expect: Literal[ExpectKind.FIRES]
    # The Alertmanager receiver; default: the alert's severity (one route per severity).
    receiver: str | None = None
    at_receiver: bool = True


class Silent(AlertRef):
    """The alert never fires (nor notifies) from the fault's start to the end of recovery."""

    expect: Literal[ExpectKind.SILENT]
    # Another SLO whose error ratio must move during the fault. For an alert whose own SLI
    # reads no data (lint SLO006: a label its exporter does not emit), silence is otherwise
    # vacuous: the witness (the corrected SLI) shows the fault was there to be seen.
    witness: str | None = None


class Resolves(AlertRef):
    """After the fault, the alert stops firing by its computed reset time."""

    expect: Literal[ExpectKind.RESOLVES]


class SLIReaches(Frozen):
    """During the fault, the SLO's error ratio over ``window`` reaches ``value``."""

    expect: Literal[ExpectKind.SLI]
    slo: str
    window: DurationField | None = None  # default: the shortest window the rules record
    op: Op = Op.GE
    value: float = Field(ge=0, le=1)


class BudgetBelow(Frozen):
    """The experiment consumes less than ``percent`` of the SLO's period error budget."""

    expect: Literal[ExpectKind.BUDGET]
    slo: str
    percent: float = Field(gt=0, le=100)


class Recovers(Frozen):
    """After the fault, the SLO's short-window error ratio falls to ``value`` (default: budget)."""

    expect: Literal[ExpectKind.RECOVERS]
    slo: str
    value: float | None = Field(default=None, ge=0, le=1)


Expectation = Annotated[
    Fires | Silent | Resolves | SLIReaches | BudgetBelow | Recovers,
    Field(discriminator="expect"),
]


class Guard(Frozen):
    """Abort the experiment, removing every fault, when this SLO burns faster than allowed."""

    slo: str
    window: DurationField | None = None  # default: the shortest window the rules record
    max_burn_rate: float = Field(gt=0)


class Traffic(Frozen):
    """Load and probes that run throughout: names of files in scenarios/ and synthetic/."""

    scenario: str | None = None
    users: int = Field(default=10, ge=1, le=1000)
    # Requests per (real) second, whatever the stack answers: with a scenario, the users'
    # shared pace; without, an open model. A budget's arithmetic (e x duration / period)
    # holds only if a fault leaves the rate as the backfilled history had it, and closed-loop
    # users send faster when a dependency fails fast (ARCHITECTURE.md).
    rate: float | None = Field(default=None, gt=0, le=2000)
    probes: tuple[str, ...] = ()


# --- the experiment ---------------------------------------------------------------------------


def parse_time_scale(v: object) -> Fraction:
    """A time scale k from YAML (a number or a fraction such as "1/2"); ValueError if not > 0."""
    if isinstance(v, bool) or not isinstance(v, int | float | str | Fraction):
        raise ValueError(f"time_scale must be a number such as 60, got {v!r}")
    try:
        k = Fraction(str(v))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"time_scale {v!r} is not a number (examples: 60, 1440)") from None
    if k <= 0:
        raise ValueError(f"time_scale must be greater than 0, got {v}")
    return k


class Experiment(Frozen):
    """One verifiable claim: baseline, faults, expectations, recovery."""

    version: Literal["sloverify/v1"]
    kind: Literal["experiment"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    stack: str = Field(pattern=_NAME)
    specs: tuple[str, ...] = ()  # spec files in stacks/<stack>/; default: every slo*.yaml
    time_scale: Fraction = Fraction(60)
    warm_up: DurationField | None = None  # default: the longest window the expectations read
    traffic: Traffic = Traffic()
    faults: tuple[FaultSpec, ...] = Field(min_length=1)
    expectations: tuple[Expectation, ...] = Field(min_length=1)
    guard: tuple[Guard, ...] = ()

    @field_validator("time_scale", mode="before")
    @classmethod
    def _scale(cls, v: object) -> Fraction:
        return parse_time_scale(v)

    @property
    def fault_span(self) -> Duration:
        """From the start of the fault phase until the last fault ends (logical)."""
        return max((f.end for f in self.faults), default=_ZERO)


EXPERIMENT_MODELS: tuple[type[Frozen], ...] = (
    Experiment,
    Traffic,
    Guard,
    ToxicFault,
    ProxyDisabledFault,
    KillFault,
    PauseFault,
    CpuHogFault,
    MemoryHogFault,
    LatencyToxic,
    BandwidthToxic,
    SlowCloseToxic,
    TimeoutToxic,
    ResetPeerToxic,
    SlicerToxic,
    LimitDataToxic,
    Fires,
    Silent,
    Resolves,
    SLIReaches,
    BudgetBelow,
    Recovers,
)
