"""Prometheus-style durations ("5m", "1h30m", "30d", "250ms") as an exact, frozen value type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

# Milliseconds are the finest unit Prometheus accepts, so a Duration is an integer number of ms
# at real time; time-scaled durations may be fractional, hence Fraction (exact, no float drift).
_UNITS_MS: dict[str, int] = {
    "y": 365 * 86_400_000,
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
_TOKEN = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")


class DurationError(ValueError):
    """A duration string that Prometheus would not accept."""


@dataclass(frozen=True, order=True)
class Duration:
    """A non-negative duration, exact to the millisecond fraction."""

    ms: Fraction

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse a Prometheus duration such as ``5m`` or ``1h30m``; raise DurationError."""
        s = text.strip()
        if not s:
            raise DurationError("empty duration")
        pos, total, last_rank = 0, 0, -1
        for match in _TOKEN.finditer(s):
            if match.start() != pos:
                break
            rank = _ORDER.index(match.group(2))
            if rank <= last_rank:
                raise DurationError(f"units out of order in {text!r}: write larger units first")
            last_rank = rank
            total += int(match.group(1)) * _UNITS_MS[match.group(2)]
            pos = match.end()
        if pos != len(s):
            raise DurationError(
                f"{text!r} is not a duration: use a number and a unit (ms, s, m, h, d, w, y), "
                "like 5m, 1h30m or 30d"
            )
        return cls(Fraction(total))

    @classmethod
    def of_seconds(cls, seconds: float | Fraction) -> Duration:
        """Build a duration from seconds."""
        return cls(Fraction(seconds) * 1000)

    @property
    def seconds(self) -> float:
        """The duration in seconds, as a float."""
        return float(self.ms / 1000)

    def __truediv__(self, k: float | Fraction) -> Duration:
        return Duration(self.ms / Fraction(k))

    def __mul__(self, k: float | Fraction) -> Duration:
        return Duration(self.ms * Fraction(k))

    def __add__(self, other: Duration) -> Duration:
        return Duration(self.ms + other.ms)

    def __bool__(self) -> bool:
        return self.ms != 0

    def prometheus(self) -> str:
        """Render for Prometheus: integer milliseconds, largest units first ("1h30m", "83ms").

        A time-scaled duration below one millisecond is rounded up to 1ms, the smallest
        duration Prometheus accepts.
        """
        ms = int(self.ms) if self.ms.denominator == 1 else int(self.ms) + 1
        if ms == 0:
            return "0s"
        parts = []
        for unit in ["d", "h", "m", "s", "ms"]:
            n, ms = divmod(ms, _UNITS_MS[unit])
            if n:
                parts.append(f"{n}{unit}")
        return "".join(parts)

    def label(self) -> str:
        """A compact name usable in a recording rule name ("5m", "1h", "30d")."""
        return self.prometheus()

    def __str__(self) -> str:
        return self.prometheus()


def _coerce(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration.parse(value)
    raise DurationError(f"expected a duration string such as '5m', got {value!r}")


DurationField = Annotated[
    Duration,
    BeforeValidator(_coerce),
    PlainSerializer(lambda d: d.prometheus(), return_type=str),
]
