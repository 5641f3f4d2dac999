"""DVT engine worker: processes signals and executes the plans' activities, via the StateStore.

A worker without HTTP (``/metrics`` on $METRICS_PORT). Each of ``WORKERS`` tasks polls: on
one fresh StateStore connection it first processes pending signals (PAUSE: the run stops
starting activities; RESUME: it starts them again), then starts the next activity of the
longest-waiting runnable run under a lease (``FOR UPDATE SKIP LOCKED``: no two tasks take the
same run), executes it (simulated work) and completes it on a second connection. Every
state change appends its event to the outbox in the same transaction.

Document 003's metrics measured here:
- ``dvt_signal_processing_duration_ms``: a signal's receipt (the API's write) to its
  processing (after which the run starts no new activity), by the StateStore's clock;
- ``dvt_run_completion_duration_seconds``: the run request to its last activity's
  completion; ``dvt_runs_completed_total``;
- ``dvt_step_duration_seconds``: an activity's execution (data plane, informative).

A StateStore error only delays: a failed poll retries after a pause; an activity whose
completion could not be written keeps its lease until it expires and is executed again
(at least once, as the engine promises).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from dvtstore import (
    Operation,
    RunStatus,
    append_event,
    init_counters,
    operation,
    state_write,
)
from prometheus_client import Counter, Histogram
from refsvc import DependencyError, serve_metrics

DATABASE_URL = os.environ.get("DATABASE_URL", "")
WORKERS = int(os.environ.get("WORKERS", "2"))
IDLE_POLL = 0.1  # seconds between polls when nothing is runnable
ERROR_PAUSE = 0.2  # seconds after a failed poll
STEP = (0.01, 0.03)  # an activity's simulated work, seconds (uniform)
LEASE = "5 seconds"  # an activity not completed by then is started again
SIGNALS_PER_POLL = 20

# 003's thresholds are bucket boundaries: 0.3, 5 and 30 s (completion), 1000 and 5000 ms
# (pause).
COMPLETION = Histogram(
    "dvt_run_completion_duration_seconds",
    "Run request to the run's completion (every activity done), seconds.",
    buckets=(0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
SIGNAL_PROCESSING = Histogram(
    "dvt_signal_processing_duration_ms",
    "Signal received to processed (no new activities after a PAUSE), milliseconds.",
    ["signal"],
    buckets=(10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000),
)
STEP_DURATION = Histogram(
    "dvt_step_duration_seconds",
    "An activity's execution (data plane: informative, not alertable).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
RUNS_COMPLETED = Counter("dvt_runs_completed", "Runs completed (every activity done).")
for _signal in ("PAUSE", "RESUME"):
    SIGNAL_PROCESSING.labels(_signal)


@dataclass(frozen=True)
class Activity:
    """An activity this task holds the lease of: the run's step ``index`` of ``steps``."""

    run_id: str
    index: int
    steps: int


async def process_signals(conn: psycopg.AsyncConnection[Any]) -> None:
    """Process the oldest pending signals, each in its own state write."""
    for _ in range(SIGNALS_PER_POLL):
        async with state_write(conn, Operation.PROCESS_SIGNAL):
            cur = await conn.execute(
                "SELECT s.id, s.run_id, s.signal, r.status, r.version FROM dvt_signals s"
                " JOIN dvt_runs r ON r.id = s.run_id WHERE s.processed_at IS NULL"
                " ORDER BY s.id LIMIT 1 FOR UPDATE OF s, r SKIP LOCKED"
            )
            row = await cur.fetchone()
            if row is None:
                return
            signal_id, run_id, kind, status, version = row
            change = {
                ("PAUSE", RunStatus.RUNNING.value): (RunStatus.PAUSED, "RunPaused"),
                ("RESUME", RunStatus.PAUSED.value): (RunStatus.RUNNING, "RunResumed"),
            }.get((kind, status))
            if change is not None:  # otherwise already in that state, or completed
                new_status, event = change
                await conn.execute(
                    "UPDATE dvt_runs SET status = %s, version = version + 1,"
                    " updated_at = clock_timestamp() WHERE id = %s",
                    (new_status.value, run_id),
                )
                await append_event(conn, run_id, version + 1, event, new_status.value)
            cur = await conn.execute(
                "UPDATE dvt_signals SET processed_at = clock_timestamp() WHERE id = %s"
                " RETURNING extract(epoch FROM processed_at - received_at)",
                (signal_id,),
            )
            waited = await cur.fetchone()
        assert waited is not None
        SIGNAL_PROCESSING.labels(kind).observe(float(waited[0]) * 1000)


async def start_activity(conn: psycopg.AsyncConnection[Any]) -> Activity | None:
    """Lease the next activity of the longest-waiting runnable run, if any."""
    async with state_write(conn, Operation.START_ACTIVITY):
        cur = await conn.execute(
            "SELECT id, plan, next_step, version FROM dvt_runs WHERE status = %s"
            " AND (lease_until IS NULL OR lease_until < clock_timestamp())"
            " ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            (RunStatus.RUNNING.value,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        run_id, plan, next_step, version = row
        await conn.execute(
            "UPDATE dvt_runs SET lease_until = clock_timestamp() + %s::interval,"
            " version = version + 1, updated_at = clock_timestamp() WHERE id = %s",
            (LEASE, run_id),
        )
        await append_event(conn, run_id, version + 1, "ActivityStarted", RunStatus.RUNNING.value)
    return Activity(run_id, next_step, len(json.loads(plan)))


async def complete_activity(activity: Activity) -> None:
    """Record the activity done; the run completes with its last one (even if paused)."""
    last = activity.index + 1 == activity.steps
    async with (
        operation(DATABASE_URL, Operation.COMPLETE_ACTIVITY) as conn,
        state_write(conn, Operation.COMPLETE_ACTIVITY),
    ):
        cur = await conn.execute(
            "SELECT status, version FROM dvt_runs WHERE id = %s AND next_step = %s FOR UPDATE",
            (activity.run_id, activity.index),
        )
        row = await cur.fetchone()
        if row is None:
            return  # its lease expired and another task completed it: nothing to do
        status = RunStatus.COMPLETED.value if last else row[0]
        cur = await conn.execute(
            "UPDATE dvt_runs SET next_step = next_step + 1, version = version + %s,"
            " status = %s, lease_until = NULL, updated_at = clock_timestamp(),"
            " completed_at = CASE WHEN %s THEN clock_timestamp() END WHERE id = %s"
            " RETURNING extract(epoch FROM clock_timestamp() - created_at)",
            (2 if last else 1, status, last, activity.run_id),
        )
        took = await cur.fetchone()
        await append_event(conn, activity.run_id, row[1] + 1, "ActivityCompleted", status)
        if last:
            await append_event(conn, activity.run_id, row[1] + 2, "RunCompleted", status)
    if last and took is not None:
        COMPLETION.observe(float(took[0]))
        RUNS_COMPLETED.inc()


async def worker() -> None:
    """Poll, start, execute, complete, forever; a StateStore error only delays."""
    while True:
        try:
            async with operation(DATABASE_URL, Operation.POLL) as conn:
                await process_signals(conn)
                activity = await start_activity(conn)
        except DependencyError:
            await asyncio.sleep(ERROR_PAUSE)
            continue
        if activity is None:
            await asyncio.sleep(IDLE_POLL)
            continue
        started = time.perf_counter()
        await asyncio.sleep(random.uniform(*STEP))
        STEP_DURATION.observe(time.perf_counter() - started)
        try:
            await complete_activity(activity)
        except DependencyError:
            await asyncio.sleep(ERROR_PAUSE)  # the lease expires; executed again


async def main() -> None:
    """Serve /metrics and run the tasks until SIGTERM."""
    init_counters()
    serve_metrics()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(worker()) for _ in range(WORKERS)]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
