"""Maestro's database layer, shared by the API and the executor: schema and counted calls.

Both processes belong to the ``maestro-api`` service as the SLO documents see it (001's
"database availability" is the ratio of successful to total database requests of Maestro,
whichever process makes them), so both label ``maestro_db_requests_total`` with
``service="maestro-api"`` and the spec's ``sum(...)`` adds them up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any

import psycopg
from prometheus_client import Counter
from refsvc import DependencyError, pg

SERVICE = "maestro-api"


class RunStatus(StrEnum):
    """A run's lifecycle: queued by the API, running and finished by the executor."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


DB_REQUESTS = Counter(
    "maestro_db_requests",
    "Maestro database requests (one connection and its statements), by outcome.",
    ["service", "operation", "outcome"],
)

# Parameters are stored as JSON text with ensure_ascii (see api.py): any string a client
# sends (NUL, lone surrogates) round-trips, where jsonb would reject some with a DB error
# that is the client's fault, not the database's.
SCHEMA = """
CREATE TABLE IF NOT EXISTS maestro_pipelines (
    id text PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL,
    steps integer NOT NULL
);
CREATE TABLE IF NOT EXISTS maestro_runs (
    id text PRIMARY KEY,
    pipeline_id text NOT NULL REFERENCES maestro_pipelines (id),
    status text NOT NULL,
    parameters text NOT NULL,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz
);
CREATE INDEX IF NOT EXISTS maestro_runs_created ON maestro_runs (created_at DESC);
CREATE INDEX IF NOT EXISTS maestro_runs_queued ON maestro_runs (created_at)
    WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS maestro_runs_running ON maestro_runs (lease_until)
    WHERE status = 'running';
"""

SEED_PIPELINES = (
    ("build", "Build", "Compile and package the service.", 3),
    ("deploy", "Deploy", "Roll the packaged service out to production.", 4),
    ("nightly-etl", "Nightly ETL", "Extract, transform and load the day's events.", 5),
    ("model-eval", "Model evaluation", "Score the latest model against the benchmark.", 2),
)

# Any fixed number: the advisory lock serialises concurrent start-ups (API restarts),
# since concurrent CREATE TABLE IF NOT EXISTS can still collide on the catalog.
_SCHEMA_LOCK = 0x6D61657374726F


def init_counters(operations: tuple[str, ...]) -> None:
    """Create every (operation, outcome) series at 0, so error queries return 0, not nothing."""
    for operation in operations:
        for outcome in ("success", "error"):
            DB_REQUESTS.labels(SERVICE, operation, outcome)


@asynccontextmanager
async def db(url: str, operation: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A fresh connection for one database request (kit's ``pg``), counted by outcome."""
    try:
        async with pg(url) as conn:
            yield conn
    except DependencyError:
        DB_REQUESTS.labels(SERVICE, operation, "error").inc()
        raise
    DB_REQUESTS.labels(SERVICE, operation, "success").inc()


async def create_schema(url: str) -> None:
    """Create the tables and seed pipelines, idempotently."""
    async with db(url, "init_schema") as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        await conn.execute(SCHEMA)
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO maestro_pipelines (id, name, description, steps)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                SEED_PIPELINES,
            )
