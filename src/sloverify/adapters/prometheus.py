"""A small typed client of Prometheus's HTTP API: instant and range queries, alert states.

Answers are parsed into frozen models at the edge; an unreachable server is ``Unreachable``
(exit 3), a query Prometheus rejects is ``QueryFailed`` with Prometheus's own message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from pydantic import BaseModel, ConfigDict

from sloverify._exceptions import QueryFailed, Unreachable


@dataclass(frozen=True)
class Sample:
    """One series' value at one time."""

    labels: Mapping[str, str]
    value: float
    at: float = 0.0


@dataclass(frozen=True)
class Series:
    """One series over a range: (time, value) points."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...] = field(default=())


@dataclass(frozen=True)
class AlertState:
    """An alert as Prometheus's /api/v1/alerts reports it: pending or firing."""

    name: str
    state: str
    labels: Mapping[str, str]
    active_at: str


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)
    metric: dict[str, str] = {}
    value: tuple[float, str] | None = None
    values: list[tuple[float, str]] = []


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True)
    resultType: str
    result: list[_Result] | tuple[float, str]


class _Alert(BaseModel):
    model_config = ConfigDict(frozen=True)
    labels: dict[str, str]
    state: str
    activeAt: str = ""


class _Alerts(BaseModel):
    model_config = ConfigDict(frozen=True)
    alerts: list[_Alert]


class PrometheusClient:
    """Queries one Prometheus server; ``timeout`` bounds every call."""

    def __init__(
        self, base_url: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # trust_env=False: an HTTP_PROXY must not reroute a query meant for 127.0.0.1.
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, trust_env=False
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def query(self, expr: str, at: float | None = None) -> tuple[Sample, ...]:
        """An instant query; a scalar answer is one sample without labels. NaN values are kept."""
        params = {"query": expr, **({"time": str(at)} if at is not None else {})}
        data = self._get("/api/v1/query", params)
        if isinstance(data.result, tuple):
            t, v = data.result
            return (Sample({}, float(v), t),)
        return tuple(
            Sample(r.metric, float(r.value[1]), r.value[0]) for r in data.result if r.value
        )

    def query_range(self, expr: str, start: float, end: float, step: float) -> tuple[Series, ...]:
        """A range query, ``step`` seconds apart."""
        params = {"query": expr, "start": str(start), "end": str(end), "step": f"{step:.3f}"}
        data = self._get("/api/v1/query_range", params)
        assert not isinstance(data.result, tuple)
        return tuple(
            Series(r.metric, tuple((t, float(v)) for t, v in r.values)) for r in data.result
        )

    def alerts(self) -> tuple[AlertState, ...]:
        """Every pending or firing alert."""
        body = _Alerts.model_validate(self._json("/api/v1/alerts", {})["data"])
        return tuple(
            AlertState(a.labels.get("alertname", ""), a.state, a.labels, a.activeAt)
            for a in body.alerts
        )

    def wait_for(
        self,
        expr: str,
        until: Callable[[tuple[Sample, ...]], bool],
        timeout: float,
        interval: float = 0.25,
    ) -> tuple[Sample, ...]:
        """Poll ``expr`` until ``until(samples)`` holds; the last samples either way."""
        deadline = time.monotonic() + timeout
        while True:
            samples = self.query(expr)
            if until(samples) or time.monotonic() >= deadline:
                return samples
            time.sleep(interval)

    def _get(self, path: str, params: Mapping[str, str]) -> _Data:
        return _Data.model_validate(self._json(path, params)["data"])

    def _json(self, path: str, params: Mapping[str, str]) -> dict[str, object]:
        try:
            response = self._http.get(path, params=dict(params))
        except httpx.HTTPError as exc:
            raise Unreachable(f"{self.base_url}{path}", str(exc) or type(exc).__name__) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or body.get("status") != "success":
            expr = params.get("query", "")
            raise QueryFailed(
                expr, f"HTTP {response.status_code}: {body.get('error', response.text[:200])}"
            )
        assert isinstance(body, dict)
        return body


def finite(samples: tuple[Sample, ...]) -> tuple[Sample, ...]:
    """The samples whose value is a number (not NaN or ±Inf)."""
    return tuple(s for s in samples if math.isfinite(s.value))
