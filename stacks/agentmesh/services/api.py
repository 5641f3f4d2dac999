"""AgentMesh Cloud API (document 002): agents and the tasks sent to them, on PostgreSQL.

One process per environment (``ENVIRONMENT=production|preview``), the same code, each with
its own database edge and its own schema, so a fault on one environment's edge leaves the
other clean. Every request runs exactly one SQL statement on a fresh connection: a
``reset_peer`` with toxicity p on the edge then fails a fraction p of requests *and* of
queries, which is what the api-success and database-errors SLIs of document 002 measure.

Latency is whatever the work costs: no sleeps, no special code. Starving the process of CPU
(document 002's "Resource Exhaustion: CPU") slows every request; the footprint stays small
(no caches, no pools) so a memory hog elsewhere squeezes the machine, not this process.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.routing import APIRoute
from prometheus_client import Counter
from psycopg import sql
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from refsvc import (
    DependencyError,
    HttpMetrics,
    dependency_error_handler,
    metrics_endpoint,
    pg,
    serve,
    until_ready,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

SERVICE = "agentmesh-api"
ENVIRONMENTS = ("production", "preview")

DB_QUERIES = Counter(
    "agentmesh_db_queries",
    "SQL statements the API ran against PostgreSQL, by outcome (success or error).",
    ["service", "env", "outcome"],
)

# Text the API stores: no NUL (PostgreSQL text cannot hold it), so a valid request never
# turns into a database error. Stated in the schema so generated inputs respect it.
Text = r"^[^\u0000]*$"


def _not_bool(value: object) -> object:
    # JSON Schema's integer takes 4.0 but not true; pydantic's lax int takes both.
    if isinstance(value, bool):
        raise ValueError("priority must be an integer, not a boolean")
    return value


Priority = Annotated[int, Field(ge=0, le=9), BeforeValidator(_not_bool)]


class AgentModel(StrEnum):
    """The model tiers an agent can run on."""

    SMALL = "mesh-small"
    MEDIUM = "mesh-medium"
    LARGE = "mesh-large"


class TaskStatus(StrEnum):
    """A task's lifecycle; the API only enqueues, workers (not part of this stack) run them."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentCreate(_Model):
    """The body of POST /v1/agents."""

    name: str = Field(min_length=1, max_length=100, pattern=Text)
    model: AgentModel = AgentModel.SMALL
    description: str = Field(default="", max_length=500, pattern=Text)


class Agent(_Model):
    """An agent as stored."""

    id: uuid.UUID
    name: str
    model: AgentModel
    description: str
    environment: str
    created_at: datetime


class AgentList(_Model):
    """A page of agents, newest first."""

    agents: list[Agent]


class TaskCreate(_Model):
    """The body of POST /v1/agents/{agent_id}/tasks."""

    input: str = Field(min_length=1, max_length=4000, pattern=Text)
    priority: Priority = 5


class Task(_Model):
    """A task as stored."""

    id: uuid.UUID
    agent_id: uuid.UUID
    input: str
    priority: int
    status: TaskStatus
    created_at: datetime


class Health(_Model):
    """The answer of /health: the process is up (the database is not consulted)."""

    status: str
    environment: str


class ErrorBody(_Model):
    """A 400 or 404 answer."""

    detail: str


class DependencyErrorBody(_Model):
    """A 503 answer: a dependency failed or did not answer in time."""

    error: str
    dependency: str
    detail: str


def _environment() -> str:
    env = os.environ.get("ENVIRONMENT", "")
    if env not in ENVIRONMENTS:
        sys.exit(
            f"agentmesh-api: ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, got {env!r}"
        )
    return env


ENVIRONMENT = _environment()
DATABASE_URL = os.environ.get("DATABASE_URL", "")
SCHEMA = f"agentmesh_{ENVIRONMENT}"
AGENTS = sql.Identifier(SCHEMA, "agents")
TASKS = sql.Identifier(SCHEMA, "tasks")
AGENT_COLUMNS = sql.SQL("id, name, model, description, created_at")
TASK_COLUMNS = sql.SQL("id, agent_id, input, priority, status, created_at")
# Both outcomes exist from the start, so the error ratio is 0 (not "no data") when all is well.
for _outcome in ("success", "error"):
    DB_QUERIES.labels(SERVICE, ENVIRONMENT, _outcome)


async def query(statement: sql.Composed, params: Sequence[object]) -> list[tuple[Any, ...]]:
    """Run one statement on a fresh connection and count its outcome."""
    try:
        async with pg(DATABASE_URL) as conn:
            cursor = await conn.execute(statement, params)
            rows = await cursor.fetchall() if cursor.description else []
    except DependencyError:
        DB_QUERIES.labels(SERVICE, ENVIRONMENT, "error").inc()
        raise
    DB_QUERIES.labels(SERVICE, ENVIRONMENT, "success").inc()
    return rows


SETUP = [
    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)),
    sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, name text NOT NULL,"
        " model text NOT NULL, description text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now())"
    ).format(AGENTS),
    sql.SQL("CREATE INDEX IF NOT EXISTS agents_created_at ON {} (created_at DESC)").format(AGENTS),
    sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY,"
        " agent_id uuid NOT NULL REFERENCES {} (id), input text NOT NULL,"
        " priority smallint NOT NULL, status text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now())"
    ).format(TASKS, AGENTS),
]


async def _create_schema() -> None:
    # Idempotent; not counted as queries: the SLI is about serving traffic.
    async with pg(DATABASE_URL, timeout=5.0) as conn:
        for statement in SETUP:
            await conn.execute(statement)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create this environment's schema before serving."""
    await until_ready(_create_schema, "agentmesh-api: schema setup", pause=1.0)
    yield


app = FastAPI(
    title="AgentMesh Cloud API",
    version="1.0.0",
    description="Agents and their tasks (one deployment per environment).",
    lifespan=lifespan,
)
app.add_exception_handler(DependencyError, dependency_error_handler)


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's 405 names only the first route matching the path; GET and POST on
    # /v1/agents are two routes, so its Allow header would leave one out.
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        path = request.scope["path"]
        allowed = sorted(
            {
                m
                for r in app.router.routes
                if isinstance(r, APIRoute) and r.path_regex.match(path)
                for m in r.methods or ()
            }
        )
        exc = StarletteHTTPException(405, exc.detail, headers={"Allow": ", ".join(allowed)})
    return await http_exception_handler(request, exc)


app.add_exception_handler(StarletteHTTPException, _http_error)
app.add_route("/metrics", metrics_endpoint, include_in_schema=False)

AgentId = Annotated[uuid.UUID, Path(description="The agent's id.")]
TaskId = Annotated[uuid.UUID, Path(description="The task's id.")]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": DependencyErrorBody, "description": "The database failed or timed out."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such id."}
}
MALFORMED: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not JSON."}
}


def _agent(row: tuple[Any, ...]) -> Agent:
    return Agent(
        id=row[0],
        name=row[1],
        model=row[2],
        description=row[3],
        environment=ENVIRONMENT,
        created_at=row[4],
    )


def _task(row: tuple[Any, ...]) -> Task:
    return Task(
        id=row[0], agent_id=row[1], input=row[2], priority=row[3], status=row[4], created_at=row[5]
    )


@app.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness and readiness: answers without touching the database."""
    return Health(status="ok", environment=ENVIRONMENT)


@app.get("/v1/agents", response_model=AgentList, responses=UNAVAILABLE)
async def list_agents(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> AgentList:
    """The newest agents, at most `limit`."""
    rows = await query(
        sql.SQL("SELECT {} FROM {} ORDER BY created_at DESC LIMIT %s").format(
            AGENT_COLUMNS, AGENTS
        ),
        [limit],
    )
    return AgentList(agents=[_agent(r) for r in rows])


@app.post(
    "/v1/agents", response_model=Agent, status_code=201, responses={**MALFORMED, **UNAVAILABLE}
)
async def create_agent(body: AgentCreate) -> Agent:
    """Register an agent."""
    rows = await query(
        sql.SQL(
            "INSERT INTO {} (id, name, model, description) VALUES (%s, %s, %s, %s) RETURNING {}"
        ).format(AGENTS, AGENT_COLUMNS),
        [uuid.uuid4(), body.name, body.model.value, body.description],
    )
    return _agent(rows[0])


@app.get("/v1/agents/{agent_id}", response_model=Agent, responses={**NOT_FOUND, **UNAVAILABLE})
async def get_agent(agent_id: AgentId) -> Agent:
    """One agent."""
    rows = await query(
        sql.SQL("SELECT {} FROM {} WHERE id = %s").format(AGENT_COLUMNS, AGENTS), [agent_id]
    )
    if not rows:
        raise HTTPException(404, f"agent {agent_id} not found")
    return _agent(rows[0])


@app.post(
    "/v1/agents/{agent_id}/tasks",
    response_model=Task,
    status_code=201,
    responses={**MALFORMED, **NOT_FOUND, **UNAVAILABLE},
)
async def create_task(agent_id: AgentId, body: TaskCreate) -> Task:
    """Queue a task for an agent; 404 if the agent does not exist."""
    # One statement: the agent check and the insert together, so a request is one query.
    rows = await query(
        sql.SQL(
            "INSERT INTO {tasks} (id, agent_id, input, priority, status)"
            " SELECT %s, a.id, %s, %s, %s FROM {agents} a WHERE a.id = %s RETURNING {cols}"
        ).format(tasks=TASKS, agents=AGENTS, cols=TASK_COLUMNS),
        [uuid.uuid4(), body.input, body.priority, TaskStatus.QUEUED.value, agent_id],
    )
    if not rows:
        raise HTTPException(404, f"agent {agent_id} not found")
    return _task(rows[0])


@app.get("/v1/tasks/{task_id}", response_model=Task, responses={**NOT_FOUND, **UNAVAILABLE})
async def get_task(task_id: TaskId) -> Task:
    """One task."""
    rows = await query(
        sql.SQL("SELECT {} FROM {} WHERE id = %s").format(TASK_COLUMNS, TASKS), [task_id]
    )
    if not rows:
        raise HTTPException(404, f"task {task_id} not found")
    return _task(rows[0])


asgi = HttpMetrics(app, service=SERVICE, labels={"env": ENVIRONMENT})

if __name__ == "__main__":
    serve(asgi)
