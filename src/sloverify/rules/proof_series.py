"""Synthetic input series for promtool proofs, in promtool's ``a+bxn`` notation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sloverify.rules.proofs import Check
    from sloverify.rules.render import Yamlable

# Counters start far from zero: rate() limits its extrapolation at a counter's zero point,
# which would treat the error counter differently from the request counter.
_OFFSET = 1_000_000
_REQUESTS_PER_STEP = 1000


@dataclass(frozen=True)
class Timeline:
    """A test's fault schedule in evaluation steps: healthy warm-up, fault, healthy again."""

    title: str
    step: float
    warmup: int
    fault_steps: int | None
    value: float
    total_steps: int
    checks: tuple[Check, ...]
    quiet: float = 0.0

    def faulty(self, k: int) -> bool:
        """Whether step ``k`` (the interval ending at it) is inside the fault."""
        if k <= self.warmup:
            return False
        return self.fault_steps is None or k <= self.warmup + self.fault_steps


def counter_pair(slo: str, t: Timeline) -> list[Yamlable]:
    """Request and error counters whose per-step ratio is the timeline's error ratio."""
    requests = [_OFFSET + _REQUESTS_PER_STEP * k for k in range(t.total_steps + 1)]
    errors, total = [], float(_OFFSET)
    for k in range(t.total_steps + 1):
        if t.faulty(k):
            total += _REQUESTS_PER_STEP * t.value
        errors.append(total)
    return [
        {"series": f'sloverify_proof_requests_total{{slo="{slo}"}}', "values": notation(requests)},
        {"series": f'sloverify_proof_errors_total{{slo="{slo}"}}', "values": notation(errors)},
    ]


def gauge(name: str, labels: dict[str, str], t: Timeline) -> list[Yamlable]:
    """A gauge at the timeline's value during the fault and its quiet value otherwise."""
    values = [t.value if t.faulty(k) else t.quiet for k in range(t.total_steps + 1)]
    sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return [{"series": f"{name}{{{sel}}}", "values": notation(values)}]


def notation(values: Sequence[float]) -> str:
    """Compress a list of values into promtool's expanding notation (``a+bxn`` runs)."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        start = values[i]
        if i + 1 == len(values):
            parts.append(_num(start))
            break
        delta = values[i + 1] - start
        j = i + 1
        while j + 1 < len(values) and abs((values[j + 1] - values[j]) - delta) <= 1e-9 * max(
            1.0, abs(delta)
        ):
            j += 1
        sign = "+" if delta >= 0 else "-"
        parts.append(f"{_num(start)}{sign}{_num(abs(delta))}x{j - i}")
        i = j + 1
    return " ".join(parts)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
