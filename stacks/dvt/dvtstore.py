"""The DVT StateStore (PostgreSQL): schema, the outbox, and counted, timed state writes.

Every state change of a run (plan persisted, activity started or completed, paused,
resumed, completed) is one transaction that updates the run's row, bumps its ``version``
and appends one event to ``dvt_outbox`` (the event log and the outbox in one table: the
transactional-outbox pattern, so an event exists exactly when its state change does). The
outbox relay publishes unpublished rows to Kafka; the projection marks the rows it applied,
so ``count(*) WHERE projected_at IS NULL`` is the projection's lag in events, end to end
(not yet relayed, in Kafka, or not yet applied).

Engine operations are counted in ``dvt_engine_operations_total{operation}`` and the failed
ones in ``dvt_engine_errors_total{operation}`` (document 003's engine error rate); each
state write's transaction time goes into ``dvt_statestore_write_duration_ms`` (in
milliseconds, as 003's query names it).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any

import psycopg
from prometheus_client import Counter, Histogram
from refsvc import DependencyError, pg

DEPENDENCY = "statestore"
# 003's thresholds are bucket boundaries: 10 ms (write), 1000 and 5000 ms (pause).
WRITE_BUCKETS_MS = (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)


class RunStatus(StrEnum):
    """A run's lifecycle: running until every step is done, paused in between."""

    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"


class Operation(StrEnum):
    """An engine operation: the ``operation`` label of the engine counters and writes.

    The API persists plans; the worker polls (processes pending signals, then starts the
    next activity of a runnable run, one connection) and completes activities. Signal
    processing and activity starts are state writes inside a poll: a failed poll counts as
    one error of ``poll``.
    """

    PERSIST_PLAN = "persist_plan"
    POLL = "poll"
    PROCESS_SIGNAL = "process_signal"
    START_ACTIVITY = "start_activity"
    COMPLETE_ACTIVITY = "complete_activity"


STATESTORE_WRITE = Histogram(
    "dvt_statestore_write_duration_ms",
    "StateStore write (one state change and its event, one transaction), milliseconds.",
    ["operation"],
    buckets=WRITE_BUCKETS_MS,
)
OPERATIONS = Counter("dvt_engine_operations", "Engine operations attempted.", ["operation"])
ERRORS = Counter(
    "dvt_engine_errors", "Engine operations that failed (StateStore error).", ["operation"]
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS dvt_runs (
    id text PRIMARY KEY,
    workflow text NOT NULL,
    plan text NOT NULL,
    parameters text NOT NULL,
    status text NOT NULL,
    next_step integer NOT NULL DEFAULT 0,
    version integer NOT NULL DEFAULT 1,
    lease_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at timestamptz
);
CREATE INDEX IF NOT EXISTS dvt_runs_runnable ON dvt_runs (updated_at) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS dvt_runs_created ON dvt_runs (created_at DESC);
CREATE TABLE IF NOT EXISTS dvt_outbox (
    seq bigserial PRIMARY KEY,
    run_id text NOT NULL,
    version integer NOT NULL,
    type text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz,
    projected_at timestamptz
);
CREATE INDEX IF NOT EXISTS dvt_outbox_unpublished ON dvt_outbox (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS dvt_outbox_unprojected ON dvt_outbox (seq) WHERE projected_at IS NULL;
CREATE TABLE IF NOT EXISTS dvt_signals (
    id bigserial PRIMARY KEY,
    run_id text NOT NULL REFERENCES dvt_runs (id),
    signal text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz
);
CREATE INDEX IF NOT EXISTS dvt_signals_pending ON dvt_signals (id) WHERE processed_at IS NULL;
CREATE TABLE IF NOT EXISTS dvt_run_views (
    run_id text PRIMARY KEY,
    status text NOT NULL,
    version integer NOT NULL,
    events_applied integer NOT NULL,
    last_event text NOT NULL,
    updated_at timestamptz NOT NULL
);
"""
# Any fixed number: serialises concurrent start-ups (CREATE ... IF NOT EXISTS can collide).
_SCHEMA_LOCK = 0x647674


def init_counters() -> None:
    """Create every operation's series at 0, so the error-rate query returns 0, not nothing."""
    for op in Operation:
        OPERATIONS.labels(op.value)
        ERRORS.labels(op.value)
        STATESTORE_WRITE.labels(op.value)


@asynccontextmanager
async def operation(url: str, op: Operation) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """One engine operation on a fresh StateStore connection, counted; errors counted too."""
    OPERATIONS.labels(op.value).inc()
    try:
        async with pg(url, DEPENDENCY) as conn:
            yield conn
    except DependencyError:
        ERRORS.labels(op.value).inc()
        raise


@asynccontextmanager
async def state_write(
    conn: psycopg.AsyncConnection[Any], op: Operation
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """One state write (a transaction), timed into ``dvt_statestore_write_duration_ms``."""
    started = time.perf_counter()
    async with conn.transaction():
        yield conn
    STATESTORE_WRITE.labels(op.value).observe((time.perf_counter() - started) * 1000)


async def append_event(
    conn: psycopg.AsyncConnection[Any], run_id: str, version: int, kind: str, status: str
) -> None:
    """Append one event of a run to the outbox (inside the state change's transaction)."""
    await conn.execute(
        "INSERT INTO dvt_outbox (run_id, version, type, status) VALUES (%s, %s, %s, %s)",
        (run_id, version, kind, status),
    )


async def create_schema(url: str) -> None:
    """Create the tables, idempotently."""
    async with pg(url, DEPENDENCY, timeout=5.0) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        await conn.execute(SCHEMA)


def plan_of(workflow: str, steps: int) -> list[dict[str, Any]]:
    """The plan of a run: one activity per step, in order."""
    return [{"index": i, "activity": f"{workflow}.step-{i + 1}"} for i in range(steps)]


def encode(value: Sequence[Any] | dict[str, Any]) -> str:
    """JSON text, plain ASCII whatever a client sent (any string round-trips)."""
    return json.dumps(value, ensure_ascii=True, sort_keys=True)
