"""``sloverify synthetic serve``: the continuous checker, with ``/metrics`` and ``/healthz``.

The scheduler runs inside uvicorn's event loop (started by the app's lifespan). A down target
is a failed attempt, never a crash; ``/healthz`` says whether the checker itself is alive (its
scheduler started a probe recently), not whether the targets are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sloverify.adapters.probe_scheduler import ProbeScheduler

# A server keeps running; the bound only keeps a forgotten one from running for ever.
MAX_SECONDS = 365 * 24 * 3600.0


def app(scheduler: ProbeScheduler, max_seconds: float = MAX_SECONDS) -> Starlette:
    """The checker's ASGI app: the scheduler in its lifespan, metrics and health routes."""
    slowest = max((p.schedule.interval for p in scheduler.plan.probes), default=60.0)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(scheduler.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        now = asyncio.get_running_loop().time()
        # Alive: some probe started within the longest interval (plus slack for a busy host).
        alive = task is not None and not task.done() and now - scheduler.heartbeat < 2 * slowest + 1
        body = {
            "status": "ok" if alive else "stalled",
            "stack": scheduler.plan.stack,
            "probes": len(scheduler.plan.probes),
            "attempts": sum(scheduler.counts.values()),
            "last": {name: a.result.value for name, a in sorted(scheduler.last.items())},
        }
        return JSONResponse(body, status_code=200 if alive else 503)

    task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        nonlocal task
        stop = asyncio.Event()
        scheduler.heartbeat = asyncio.get_running_loop().time()
        task = asyncio.create_task(scheduler.run(stop, max_seconds))
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=15)

    return Starlette(
        routes=[Route("/metrics", metrics), Route("/healthz", healthz), Route("/health", healthz)],
        lifespan=lifespan,
    )


def serve(scheduler: ProbeScheduler, host: str, port: int) -> None:
    """Serve until interrupted (SIGINT or SIGTERM stop the probes cleanly)."""
    uvicorn.run(app(scheduler), host=host, port=port, log_level="warning", access_log=False)
