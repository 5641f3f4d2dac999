"""The reference services' HTTP metrics: labels by route template, error series born at zero."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from stacks._common.refsvc import HttpMetrics
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient


async def _run(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


def _client(registry: CollectorRegistry) -> TestClient:
    app = Starlette(routes=[Route("/runs/{id}", _run)])
    return TestClient(HttpMetrics(app, "svc", registry=registry))


def _exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_requests_are_counted_by_route_template() -> None:
    registry = CollectorRegistry()
    client = _client(registry)
    for run in ("a", "b", "c"):
        assert client.get(f"/runs/{run}").status_code == 200
    text = _exposition(registry)
    assert (
        'http_requests_total{code="200",method="GET",path="/runs/{id}",service="svc"} 3.0' in text
    )


def test_the_503_series_exists_at_zero_before_any_error() -> None:
    # rate() over a counter needs two samples; born with the first request, the first real
    # dependency error moves the error ratio at once rather than one scrape later.
    registry = CollectorRegistry()
    _client(registry).get("/runs/x")
    text = _exposition(registry)
    assert (
        'http_requests_total{code="503",method="GET",path="/runs/{id}",service="svc"} 0.0' in text
    )


def test_unmatched_paths_share_one_series() -> None:
    registry = CollectorRegistry()
    client = _client(registry)
    client.get("/nope/1")
    client.get("/nope/2")
    assert 'code="404",method="GET",path="unmatched",service="svc"} 2.0' in _exposition(registry)


def test_a_prefix_renames_both_metrics() -> None:
    # Document 003 names its own request counter, dvt_api_requests_total.
    registry = CollectorRegistry()
    app = Starlette(routes=[Route("/runs/{id}", _run)])
    client = TestClient(HttpMetrics(app, "svc", registry=registry, prefix="dvt_api"))
    assert client.get("/runs/a").status_code == 200
    text = _exposition(registry)
    assert 'dvt_api_requests_total{code="200",method="GET",path="/runs/{id}",service="svc"}' in text
    assert "dvt_api_request_duration_seconds_bucket" in text
    assert "http_requests_total" not in text
