"""DVT engine control-plane API (document 003): run requests, plans, signals, the read model.

``POST /api/v1/runs`` persists the run's plan in the StateStore (PostgreSQL) with its first
event in the outbox, in one transaction, and answers 201; the worker executes the plan.
``POST /api/v1/runs/{run_id}/signals`` records a PAUSE or RESUME signal (202); the worker
processes it (no new activities after a PAUSE). ``GET .../projection`` reads the read model
the projection built from the event bus. Each request opens its own StateStore connection
(the kit's ``pg``), so a fault with toxicity p on the ``dvt-engine-postgres`` edge fails
about a share p of requests, as 503.

Requests are counted as ``dvt_api_requests_total{service,path,method,code}`` (the kit's
middleware under 003's name); ``dvt_plan_persist_duration_seconds`` is 003's "RunRequest
-> plan persisted" latency, which its own query mislabels (see the README).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from dvtstore import (
    Operation,
    RunStatus,
    append_event,
    create_schema,
    encode,
    init_counters,
    operation,
    plan_of,
    state_write,
)
from fastapi import FastAPI, HTTPException, Path, Query, Response
from prometheus_client import Histogram
from pydantic import BaseModel, ConfigDict, Field
from refsvc import (
    DependencyError,
    HttpMetrics,
    dependency_error_handler,
    http_error,
    metrics_endpoint,
    pg,
    serve,
    until_ready,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

PREFIX = "/api/v1"
SERVICE = "dvt-engine"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
RunId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
ParamValue = str | int | bool | None
Parameters = dict[Annotated[str, Field(min_length=1, max_length=64)], ParamValue]

PLAN_PERSIST = Histogram(
    "dvt_plan_persist_duration_seconds",
    "RunRequest received to its plan written in the StateStore (003's 'plan persisted').",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0),
)

ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"description": "The StateStore is unavailable or did not answer in time."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such run."}}
BAD_BODY: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not JSON text."}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "The run has completed."}}


class Signal(StrEnum):
    """A signal to a running workflow."""

    PAUSE = "PAUSE"
    RESUME = "RESUME"


class RunRequest(BaseModel):
    """Start a run of a workflow: its number of steps (one activity each) and parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    steps: int = Field(default=3, ge=1, le=10)
    parameters: Parameters = Field(default_factory=dict)


class Step(BaseModel):
    """One activity of a run's plan, and how far it got."""

    index: int
    activity: str
    done: bool


class Run(BaseModel):
    """A run as the StateStore holds it: its plan and its state."""

    id: str
    workflow: str
    status: RunStatus
    parameters: Parameters
    plan: list[Step]
    version: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class SignalRequest(BaseModel):
    """Send a signal to a run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signal: Signal


class SignalAccepted(BaseModel):
    """A recorded signal; the worker processes it (``processed_at`` is set then)."""

    id: int
    run_id: str
    signal: Signal
    received_at: datetime


class Projection(BaseModel):
    """The read model of a run, built from the event bus (eventually consistent).

    A run the projection has not reached yet is there with ``events_applied`` 0 and no
    status: the run exists, its read model lags (a 404 would say it does not exist).
    """

    run_id: str
    status: RunStatus | None
    version: int
    events_applied: int
    last_event: str | None
    updated_at: datetime | None


_RUN_COLUMNS = (
    "id, workflow, status, parameters, plan, next_step, version, created_at, updated_at,"
    " completed_at"
)


def _run(row: tuple[Any, ...]) -> Run:
    run_id, workflow, status, parameters, plan, next_step, version, created, updated, done = row
    steps = [Step(done=s["index"] < next_step, **s) for s in json.loads(plan)]
    return Run(
        id=run_id,
        workflow=workflow,
        status=RunStatus(status),
        parameters=json.loads(parameters),
        plan=steps,
        version=version,
        created_at=created,
        updated_at=updated,
        completed_at=done,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create the schema before serving; give up (the supervisor restarts us) after ~15 s."""
    init_counters()
    await until_ready(lambda: create_schema(DATABASE_URL), f"{SERVICE}: schema setup")
    yield


app = FastAPI(
    title="DVT engine control-plane API",
    version="1.0.0",
    lifespan=lifespan,
    exception_handlers={DependencyError: dependency_error_handler},
)
app.add_middleware(HttpMetrics, service=SERVICE, prefix="dvt_api")
app.add_route("/metrics", metrics_endpoint, include_in_schema=False)


app.add_exception_handler(StarletteHTTPException, http_error)


@app.get("/health")
async def health() -> dict[str, str]:
    """Liveness and readiness: the process serves (the StateStore is not consulted)."""
    return {"status": "ok"}


@app.post(f"{PREFIX}/runs", status_code=201, responses=BAD_BODY | ERRORS)
async def start_run(request: RunRequest, response: Response) -> Run:
    """Persist the run's plan and its first event (RunPlanned); the worker executes it."""
    started = time.perf_counter()
    run_id = f"run-{secrets.token_hex(8)}"
    plan = encode(plan_of(request.workflow, request.steps))
    async with (
        operation(DATABASE_URL, Operation.PERSIST_PLAN) as conn,
        state_write(conn, Operation.PERSIST_PLAN),
    ):
        cur = await conn.execute(
            f"INSERT INTO dvt_runs (id, workflow, plan, parameters, status)"
            f" VALUES (%s, %s, %s, %s, %s) RETURNING {_RUN_COLUMNS}",
            (run_id, request.workflow, plan, encode(request.parameters), RunStatus.RUNNING.value),
        )
        row = await cur.fetchone()
        await append_event(conn, run_id, 1, "RunPlanned", RunStatus.RUNNING.value)
    assert row is not None
    PLAN_PERSIST.observe(time.perf_counter() - started)
    response.headers["Location"] = f"{PREFIX}/runs/{run_id}"
    return _run(row)


@app.get(f"{PREFIX}/runs", responses=ERRORS)
async def list_runs(
    status: RunStatus | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[Run]:
    """The newest runs, optionally of one status."""
    async with pg(DATABASE_URL, "statestore") as conn:
        cur = await conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM dvt_runs"
            " WHERE (%(status)s::text IS NULL OR status = %(status)s)"
            " ORDER BY created_at DESC LIMIT %(limit)s",
            {"status": status and status.value, "limit": limit},
        )
        rows = await cur.fetchall()
    return [_run(row) for row in rows]


@app.get(f"{PREFIX}/runs/{{run_id}}", responses=NOT_FOUND | ERRORS)
async def get_run(run_id: RunId) -> Run:
    """A run's plan and state, from the StateStore."""
    async with pg(DATABASE_URL, "statestore") as conn:
        cur = await conn.execute(f"SELECT {_RUN_COLUMNS} FROM dvt_runs WHERE id = %s", (run_id,))
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, f"no run {run_id!r}")
    return _run(row)


@app.get(f"{PREFIX}/runs/{{run_id}}/projection", responses=NOT_FOUND | ERRORS)
async def get_projection(run_id: RunId) -> Projection:
    """A run's read model (empty until the projection has applied the run's first event)."""
    async with pg(DATABASE_URL, "statestore") as conn:
        cur = await conn.execute(
            "SELECT r.id, v.status, coalesce(v.version, 0), coalesce(v.events_applied, 0),"
            " v.last_event, v.updated_at"
            " FROM dvt_runs r LEFT JOIN dvt_run_views v ON v.run_id = r.id WHERE r.id = %s",
            (run_id,),
        )
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, f"no run {run_id!r}")
    return Projection(
        run_id=row[0],
        status=None if row[1] is None else RunStatus(row[1]),
        version=row[2],
        events_applied=row[3],
        last_event=row[4],
        updated_at=row[5],
    )


@app.post(
    f"{PREFIX}/runs/{{run_id}}/signals",
    status_code=202,
    responses=BAD_BODY | NOT_FOUND | CONFLICT | ERRORS,
)
async def send_signal(run_id: RunId, request: SignalRequest) -> SignalAccepted:
    """Record a signal for the worker: PAUSE stops new activities, RESUME lets them start."""
    async with pg(DATABASE_URL, "statestore") as conn:
        # One statement: recorded only for a run that exists and has not completed.
        cur = await conn.execute(
            "INSERT INTO dvt_signals (run_id, signal) SELECT id, %s FROM dvt_runs"
            " WHERE id = %s AND status <> %s RETURNING id, received_at",
            (request.signal.value, run_id, RunStatus.COMPLETED.value),
        )
        row = await cur.fetchone()
        if row is None:
            cur = await conn.execute("SELECT 1 FROM dvt_runs WHERE id = %s", (run_id,))
            exists = await cur.fetchone() is not None
    if row is None:
        if exists:
            raise HTTPException(409, f"run {run_id!r} has completed")
        raise HTTPException(404, f"no run {run_id!r}")
    return SignalAccepted(id=row[0], run_id=run_id, signal=request.signal, received_at=row[1])


if __name__ == "__main__":
    serve(app)
