"""Maestro control-plane API (documents 000 and 001): runs and pipelines on PostgreSQL.

Every endpoint of 000's "Endpoint scope" under ``/api/maestro/v1``. Creating a run (POST
/runs, or POST /pipelines/{id}/executions) only queues it; ``executor.py`` runs it. Each
request opens its own database connection (the kit's ``pg``), so a fault with toxicity p on
the ``maestro-api-postgres`` edge fails about a share p of requests, as 503.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Path, Query, Response
from maestrodb import SERVICE, RunStatus, create_schema, db, init_counters
from pydantic import BaseModel, ConfigDict, Field
from refsvc import (
    DependencyError,
    HttpMetrics,
    dependency_error_handler,
    http_error,
    metrics_endpoint,
    serve,
    until_ready,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

PREFIX = "/api/maestro/v1"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
OPERATIONS = (
    "init_schema",
    "list_runs",
    "get_run",
    "create_run",
    "list_pipelines",
    "get_pipeline",
)
# Ids are URL-safe slugs: a pattern in the OpenAPI document, so clients (and the fuzzer)
# know which strings are ids and anything else is a 422 before it reaches the database.
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
ParamValue = str | int | bool | None
Parameters = dict[Annotated[str, Field(min_length=1, max_length=64)], ParamValue]


class Pipeline(BaseModel):
    """A pipeline in the catalog: what a run executes."""

    id: str
    name: str
    description: str
    steps: int


class Run(BaseModel):
    """One orchestration run of a pipeline."""

    id: str
    pipeline_id: str
    status: RunStatus
    parameters: Parameters
    error: str | None
    created_at: datetime
    updated_at: datetime


class ExecutionRequest(BaseModel):
    """Start a pipeline: its parameters (``fail: true`` makes the run fail, for drills)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parameters: Parameters = Field(default_factory=dict)


class RunRequest(ExecutionRequest):
    """Create a run of a pipeline."""

    pipeline_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)


_RUN_COLUMNS = "id, pipeline_id, status, parameters, error, created_at, updated_at"
_PIPELINE_COLUMNS = "id, name, description, steps"
ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"description": "The database is unavailable or did not answer in time."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such run or pipeline."}}
# FastAPI answers 400 (not 422) when a body is not even text (invalid UTF-8).
BAD_BODY: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not JSON text."}}


def _run(row: tuple[Any, ...]) -> Run:
    run_id, pipeline_id, status, parameters, error, created, updated = row
    return Run(
        id=run_id,
        pipeline_id=pipeline_id,
        status=RunStatus(status),
        parameters=json.loads(parameters),
        error=error,
        created_at=created,
        updated_at=updated,
    )


def _pipeline(row: tuple[Any, ...]) -> Pipeline:
    return Pipeline(id=row[0], name=row[1], description=row[2], steps=row[3])


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create the schema before serving; give up (the supervisor restarts us) after ~15 s."""
    init_counters(OPERATIONS)
    await until_ready(lambda: create_schema(DATABASE_URL), f"{SERVICE}: schema setup")
    yield


app = FastAPI(
    title="Maestro control-plane API",
    version="1.0.0",
    lifespan=lifespan,
    exception_handlers={DependencyError: dependency_error_handler},
)
app.add_middleware(HttpMetrics, service=SERVICE)


app.add_exception_handler(StarletteHTTPException, http_error)


app.add_route("/metrics", metrics_endpoint, include_in_schema=False)


@app.get("/health")
async def health() -> dict[str, str]:
    """Liveness and readiness: the process serves (the database is not consulted)."""
    return {"status": "ok"}


@app.get(f"{PREFIX}/runs", responses=ERRORS)
async def list_runs(
    status: RunStatus | None = None,
    pipeline_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[Run]:
    """The newest runs, optionally of one status or one pipeline."""
    async with db(DATABASE_URL, "list_runs") as conn:
        cur = await conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM maestro_runs"
            " WHERE (%(status)s::text IS NULL OR status = %(status)s)"
            " AND (%(pipeline)s::text IS NULL OR pipeline_id = %(pipeline)s)"
            " ORDER BY created_at DESC LIMIT %(limit)s",
            {"status": status and status.value, "pipeline": pipeline_id, "limit": limit},
        )
        rows = await cur.fetchall()
    return [_run(row) for row in rows]


@app.get(f"{PREFIX}/runs/{{id}}", responses=NOT_FOUND | ERRORS)
async def get_run(id: Id) -> Run:
    """One run."""
    async with db(DATABASE_URL, "get_run") as conn:
        cur = await conn.execute(f"SELECT {_RUN_COLUMNS} FROM maestro_runs WHERE id = %s", (id,))
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, f"no run {id!r}")
    return _run(row)


async def _create_run(pipeline_id: str, parameters: Parameters, response: Response) -> Run:
    run_id = f"run-{secrets.token_hex(8)}"
    # ensure_ascii: the stored text is plain ASCII whatever the client sent (see maestrodb).
    encoded = json.dumps(parameters, ensure_ascii=True, sort_keys=True)
    async with db(DATABASE_URL, "create_run") as conn:
        # One statement: the run is created only if its pipeline exists (else no row: 404).
        cur = await conn.execute(
            f"INSERT INTO maestro_runs (id, pipeline_id, status, parameters)"
            f" SELECT %s, p.id, %s, %s FROM maestro_pipelines p WHERE p.id = %s"
            f" RETURNING {_RUN_COLUMNS}",
            (run_id, RunStatus.QUEUED.value, encoded, pipeline_id),
        )
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, f"no pipeline {pipeline_id!r}")
    response.headers["Location"] = f"{PREFIX}/runs/{run_id}"
    return _run(row)


@app.post(f"{PREFIX}/runs", status_code=201, responses=BAD_BODY | NOT_FOUND | ERRORS)
async def create_run(request: RunRequest, response: Response) -> Run:
    """Queue a run of a pipeline; the executor picks it up."""
    return await _create_run(request.pipeline_id, request.parameters, response)


@app.get(f"{PREFIX}/pipelines", responses=ERRORS)
async def list_pipelines() -> list[Pipeline]:
    """The pipeline catalog."""
    async with db(DATABASE_URL, "list_pipelines") as conn:
        cur = await conn.execute(f"SELECT {_PIPELINE_COLUMNS} FROM maestro_pipelines ORDER BY id")
        rows = await cur.fetchall()
    return [_pipeline(row) for row in rows]


@app.get(f"{PREFIX}/pipelines/{{id}}", responses=NOT_FOUND | ERRORS)
async def get_pipeline(id: Id) -> Pipeline:
    """One pipeline."""
    async with db(DATABASE_URL, "get_pipeline") as conn:
        cur = await conn.execute(
            f"SELECT {_PIPELINE_COLUMNS} FROM maestro_pipelines WHERE id = %s", (id,)
        )
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, f"no pipeline {id!r}")
    return _pipeline(row)


@app.post(
    f"{PREFIX}/pipelines/{{id}}/executions",
    status_code=201,
    responses=BAD_BODY | NOT_FOUND | ERRORS,
)
async def create_execution(
    id: Id, response: Response, request: Annotated[ExecutionRequest | None, Body()] = None
) -> Run:
    """Kick off an execution of a pipeline: a run, queued."""
    parameters = request.parameters if request is not None else {}
    return await _create_run(id, parameters, response)


if __name__ == "__main__":
    serve(app)
