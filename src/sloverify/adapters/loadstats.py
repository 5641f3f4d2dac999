"""Typed results of a load run: locust's CSV stats, the stress capacity, the open model's starts.

Locust writes ``<prefix>_stats.csv`` about every second while it runs and once more at the
end; its columns are stable across 2.x ("Type", "Name", "Request Count", "Failure Count",
"Requests/s", "50%", "95%", "99%", ...). The stress shape (``scenarios/_lib/shapes.py``) writes
its steps and capacity as JSON.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sloverify._exceptions import HarnessError
from sloverify.spec.base import Frozen

AGGREGATED = "Aggregated"


class Shape(StrEnum):
    """The load shapes of ``scenarios/_lib/shapes.py``."""

    LOAD = "load"
    SPIKE = "spike"
    STRESS = "stress"
    ENDURANCE = "endurance"


class EndpointStats(Frozen):
    """One endpoint's (or the aggregate's) counts, percentiles and achieved rate."""

    method: str
    name: str
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rps: float

    @property
    def failure_ratio(self) -> float:
        """Failures over requests (0 with no requests)."""
        return self.failures / self.requests if self.requests else 0.0


class StressStep(Frozen):
    """One step of a stress run: its users, what it achieved, and whether it held."""

    users: int
    requests: int
    failures: int
    rps: float
    failure_ratio: float
    p95_ms: float
    held: bool


class StressResult(Frozen):
    """What a stress run found: the capacity (last step that held) and why it stopped."""

    breached: bool
    reason: str
    capacity_users: int
    capacity_rps: float
    steps: tuple[StressStep, ...]


class LoadResult(Frozen):
    """A finished locust run."""

    shape: Shape
    seconds: float
    endpoints: tuple[EndpointStats, ...]
    total: EndpointStats
    stress: StressResult | None = None
    workers: int = 0


class OpenModelResult(Frozen):
    """An open-model run: starts scheduled at a fixed arrival rate, and how they went.

    ``late`` starts began more than the tolerance after their schedule (they waited for a free
    slot); ``dropped`` ones never began (the backlog behind the concurrency cap was full).
    Latencies "from schedule" count the wait, so a stalled service is not hidden by
    coordinated omission; "service" latencies are from the actual start.
    """

    rate: float
    seconds: float
    scheduled: int
    started: int
    late: int
    dropped: int
    completed: int
    failures: int
    timeouts: int
    achieved_rps: float
    service_p50_ms: float
    service_p95_ms: float
    service_p99_ms: float
    scheduled_p50_ms: float
    scheduled_p95_ms: float
    scheduled_p99_ms: float
    max_lateness_ms: float


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:  # "N/A" when an endpoint has no requests
        return 0.0


def parse_stats_csv(path: Path) -> tuple[tuple[EndpointStats, ...], EndpointStats | None]:
    """Per-endpoint stats and the aggregate row of a ``_stats.csv``; HarnessError if unreadable."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise HarnessError(f"locust wrote no stats at {path}: {exc}") from None
    endpoints: list[EndpointStats] = []
    total: EndpointStats | None = None
    try:
        for row in rows:
            stats = EndpointStats(
                method=row["Type"],
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                p50_ms=_number(row["50%"]),
                p95_ms=_number(row["95%"]),
                p99_ms=_number(row["99%"]),
                max_ms=_number(row["Max Response Time"]),
                rps=_number(row["Requests/s"]),
            )
            if row["Name"] == AGGREGATED and not row["Type"]:
                total = stats
            else:
                endpoints.append(stats)
    except (KeyError, ValueError, TypeError, ValidationError) as exc:
        # TypeError: a row cut short (None fields), read while locust rewrites the file.
        raise HarnessError(f"unexpected columns in {path} (is this locust 2.47?): {exc}") from None
    return tuple(endpoints), total


def parse_stats_json(path: Path) -> tuple[tuple[EndpointStats, ...], EndpointStats]:
    """Final per-endpoint stats and their aggregate from locust's ``--json-file`` output.

    Locust writes it after its runner has quit, so its counts are final (the CSV's last
    periodic write may miss the last second). Percentiles are computed from the response
    time histograms as locust computes them (``calculate_response_time_percentile``).
    """
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        endpoints = tuple(_entry(e) for e in entries)
        total = _entry(
            {
                "method": "",
                "name": AGGREGATED,
                "num_requests": sum(e["num_requests"] for e in entries),
                "num_none_requests": sum(e.get("num_none_requests") or 0 for e in entries),
                "num_failures": sum(e["num_failures"] for e in entries),
                "max_response_time": max((e["max_response_time"] for e in entries), default=0),
                "start_time": min((e["start_time"] for e in entries), default=0),
                "last_request_timestamp": max(
                    (e["last_request_timestamp"] or 0 for e in entries), default=0
                ),
                "response_times": _merged(e["response_times"] for e in entries),
            }
        )
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        raise HarnessError(f"locust wrote no readable stats at {path}: {exc}") from None
    return endpoints, total


def _merged(dicts: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def _entry(e: dict[str, Any]) -> EndpointStats:
    times = {int(float(k)): int(v) for k, v in e["response_times"].items()}
    timed = e["num_requests"] - (e.get("num_none_requests") or 0)
    span = (e["last_request_timestamp"] or 0) - e["start_time"]
    return EndpointStats(
        method=e["method"] or "",
        name=e["name"],
        requests=e["num_requests"],
        failures=e["num_failures"],
        p50_ms=_percentile(times, timed, 0.50),
        p95_ms=_percentile(times, timed, 0.95),
        p99_ms=_percentile(times, timed, 0.99),
        max_ms=float(e["max_response_time"] or 0),
        rps=e["num_requests"] / span if span > 0 else 0.0,
    )


def _percentile(times: dict[int, int], count: int, q: float) -> float:
    # locust's own algorithm, so our numbers match its report
    wanted = int(count * q)
    seen = 0
    for ms in sorted(times, reverse=True):
        seen += times[ms]
        if count - seen <= wanted:
            return float(ms)
    return 0.0


def parse_stress(path: Path) -> StressResult:
    """The stress shape's JSON result; HarnessError if it is missing or malformed."""
    try:
        return StressResult.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise HarnessError(f"the stress shape wrote no result at {path}: {exc}") from None
