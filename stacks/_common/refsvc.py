"""The reference services' shared kit: HTTP metrics, serving, dependency calls with timeouts.

Reference services are small on purpose; what they share is what makes them behave like
real services under faults: per-request dependency connections (Toxiproxy decides
``toxicity`` per TCP connection), timeouts shorter than any client's, and dependency
errors turned into 503 answers rather than hangs or tracebacks.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import uvicorn
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette_exporter.middleware import get_matching_route_path

# Every latency threshold the documents name (0.2, 0.3, 0.4 s) is a bucket boundary.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0, 2.5, 5.0, 10.0)
# Clients (locust, probes, tests) wait 5 s; a dependency call gives up well before that.
DEPENDENCY_TIMEOUT = 1.0
CLIENT_TIMEOUT = 5.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DependencyError(Exception):
    """A dependency (database, bus, store) failed or timed out; the request answers 503."""

    def __init__(self, dependency: str, detail: str) -> None:
        self.dependency = dependency
        self.detail = detail
        super().__init__(f"{dependency}: {detail}")


async def dependency_error_handler(request: Request, exc: Exception) -> Response:
    """Map a DependencyError to 503 with a JSON body naming the dependency."""
    assert isinstance(exc, DependencyError)
    return JSONResponse(
        {"error": "dependency unavailable", "dependency": exc.dependency, "detail": exc.detail},
        status_code=503,
    )


class HttpMetrics:
    """ASGI middleware: ``http_requests_total`` and ``http_request_duration_seconds``.

    ``prefix`` renames both (``dvt_api`` gives ``dvt_api_requests_total``) for documents that
    name their own request metrics.

    Labels are the documents' own: ``service``, ``path`` (the route template, so
    ``/runs/{id}`` is one series), ``method``, ``code``, plus any constant labels. Requests
    that match no route are counted with ``path="unmatched"`` so a scan cannot blow up the
    series count; ``/metrics`` itself is not counted.
    """

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        labels: Mapping[str, str] | None = None,
        registry: CollectorRegistry = REGISTRY,
        skip_paths: Sequence[str] = ("/metrics",),
        prefix: str = "http",
    ) -> None:
        self.app = app
        self.service = service
        self.labels = dict(labels or {})
        self.skip = set(skip_paths)
        self.seen: set[tuple[str, str]] = set()
        names = ["service", *self.labels, "path", "method", "code"]
        self.requests = _metric(
            Counter, f"{prefix}_requests_total", "HTTP requests.", names, registry
        )
        self.duration = _metric(
            Histogram,
            f"{prefix}_request_duration_seconds",
            "HTTP request duration.",
            names,
            registry,
            buckets=LATENCY_BUCKETS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time and count one request, labelled by its route template."""
        if scope["type"] != "http" or scope["path"] in self.skip:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes the app is a 500 to the client

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            app = scope.get("app")
            routes = getattr(getattr(app, "router", None), "routes", [])
            path = get_matching_route_path(dict(scope), routes) or "unmatched"
            values = [self.service, *self.labels.values(), path, scope["method"], str(status)]
            self.requests.labels(*values).inc()
            if (path, scope["method"]) not in self.seen:
                # Born at zero with the route's first request, so that rate() over the 503
                # series moves at the first dependency error instead of one scrape later:
                # a counter that appears mid-window has no previous sample to differ from.
                self.seen.add((path, scope["method"]))
                born = [self.service, *self.labels.values(), path, scope["method"], "503"]
                self.requests.labels(*born)
            self.duration.labels(*values).observe(time.perf_counter() - started)


# Keyed by the registry object itself, weakly: keyed by id(), a registry collected and a
# new one born at the same address would be handed metrics registered on the dead one.
_METRICS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _metric(
    kind: type[Any], name: str, doc: str, labels: list[str], registry: Any, **kw: Any
) -> Any:
    # One metric object per registry and name: building the middleware twice (uvicorn's
    # lifespan, tests) must not raise "Duplicated timeseries".
    metrics = _METRICS.setdefault(registry, {})
    if name not in metrics:
        base = name.removesuffix("_total")
        metrics[name] = kind(base, doc, labels, registry=registry, **kw)
    return metrics[name]


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics`` in Prometheus's text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def serve(app: Any) -> None:
    """Run an ASGI app on 127.0.0.1:$PORT until SIGTERM, quietly."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        access_log=False,
        # Keep-alive connections outlive a proxy's fault window; short, so clients reconnect.
        timeout_keep_alive=2,
        timeout_graceful_shutdown=2,
    )


def serve_metrics() -> None:
    """For a worker without HTTP: serve /metrics on 127.0.0.1:$METRICS_PORT in a thread."""
    start_http_server(int(os.environ["METRICS_PORT"]), addr="127.0.0.1")


@asynccontextmanager
async def pg(
    url: str, dependency: str = "postgres", timeout: float = DEPENDENCY_TIMEOUT
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A fresh PostgreSQL connection for one request, autocommit, all of it under ``timeout``.

    Fresh on purpose (see the module docstring). The deadline covers connecting and every
    statement in the block, enforced on our side: a frozen proxy never answers, so a
    server-side statement_timeout alone would leave the request hanging. Every psycopg
    error, OSError and the deadline become a DependencyError (a 503).
    """
    conn: psycopg.AsyncConnection[Any] | None = None
    try:
        async with asyncio.timeout(timeout):
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
            yield conn
    except TimeoutError as exc:
        raise DependencyError(dependency, f"no answer within {timeout:g}s") from exc
    except (psycopg.Error, OSError) as exc:
        raise DependencyError(dependency, str(exc).strip() or type(exc).__name__) from exc
    finally:
        if conn is not None:
            await conn.close()


async def until_ready(
    step: Callable[[], Awaitable[None]], what: str, attempts: int = 30, pause: float = 0.5
) -> None:
    """Retry a start-up step (a schema) while its dependency fails; re-raise after ``attempts``.

    The supervisor may start a service while a fault is still on its edge, or before the
    database accepts connections. Giving up after about ``attempts * pause`` seconds ends the
    process, and the supervisor restarts it: a start-up that never hangs and never gives up.
    """
    for attempt in range(1, attempts + 1):
        try:
            await step()
            return
        except DependencyError as exc:
            if attempt == attempts:
                raise
            print(f"{what} failed ({exc}); retrying", flush=True)
            await asyncio.sleep(pause)


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's HTTP error handler, but a 405 lists in ``Allow`` every method the path has.

    Starlette builds ``Allow`` from the first route that matched the path only, so
    ``GET /runs`` and ``POST /runs`` (two routes) would each claim to be the only method.
    """
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException
    from starlette.routing import Match

    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        methods = {
            method
            for route in request.app.router.routes
            if route.matches(request.scope)[0] is Match.PARTIAL
            for method in getattr(route, "methods", None) or ()
        }
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(methods))}
    return await http_exception_handler(request, exc)
