"""The run's settings, read once from the environment sloverify gives locust."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache


@dataclass(frozen=True)
class Config:
    """What the shape and the users need to know about this run."""

    shape: str = "load"
    users: int = 1
    rate: float | None = None
    scale: Fraction = Fraction(1)
    base_seconds: float = 600.0
    stress_steps: int = 5
    max_failure_ratio: float = 0.01
    max_p95_ms: float = 500.0
    result_file: str = ""
    stop_file: str = ""  # once it exists, every shape ends at its next tick
    ramp_seconds: float | None = None  # load/endurance ramp (None: the first tenth of the run)
    targets: dict[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """The shape's length at this run's time scale."""
        return float(Fraction(self.base_seconds) / self.scale)

    @property
    def per_user_rate(self) -> float:
        """Requests per second per user: the peak rate shared by the peak users."""
        return (self.rate / self.users) if self.rate else 1.0


@cache
def config() -> Config:
    """This run's settings."""
    env = os.environ
    rate = env.get("SLOVERIFY_RATE")
    return Config(
        shape=env.get("SLOVERIFY_SHAPE", "load"),
        users=max(1, int(env.get("SLOVERIFY_USERS", "1"))),
        rate=float(rate) if rate else None,
        scale=Fraction(env.get("SLOVERIFY_TIME_SCALE", "1")),
        base_seconds=float(env.get("SLOVERIFY_BASE_SECONDS", "600")),
        stress_steps=max(1, int(env.get("SLOVERIFY_STRESS_STEPS", "5"))),
        max_failure_ratio=float(env.get("SLOVERIFY_STRESS_MAX_FAILURE_RATIO", "0.01")),
        max_p95_ms=float(env.get("SLOVERIFY_STRESS_MAX_P95_MS", "500")),
        result_file=env.get("SLOVERIFY_RESULT_FILE", ""),
        stop_file=env.get("SLOVERIFY_STOP_FILE", ""),
        ramp_seconds=float(env["SLOVERIFY_RAMP_SECONDS"])
        if "SLOVERIFY_RAMP_SECONDS" in env
        else None,
        targets=json.loads(env.get("SLOVERIFY_TARGETS", "{}")),
    )


def target(service: str) -> str | None:
    """A service's base URL in this run (None: locust's --host decides)."""
    return config().targets.get(service)
