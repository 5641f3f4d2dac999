"""Maestro run executor: claims queued runs from PostgreSQL, executes them, records the outcome.

A worker without HTTP (``/metrics`` on $METRICS_PORT). Every poll, claim and finish opens
its own connection (the kit's ``pg``), so a fault on the ``maestro-executor-postgres`` edge
hits a share of those calls rather than one long-lived session. Claims use ``FOR UPDATE
SKIP LOCKED`` so several workers (or executor processes) never take the same run.

Where ``maestro_runs_total`` lives: here, and only here. The executor is the one process
that decides a run's outcome; if the API also counted runs (say, as accepted), the spec's
``sum(rate(maestro_runs_total{service="maestro-api"}[w]))`` would add both processes' series
and count every run twice. The executor is part of the ``maestro-api`` service as 001 sees
it, so its series carry ``service="maestro-api"`` (the Prometheus ``job`` label still tells
the processes apart).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from dataclasses import dataclass

from maestrodb import SERVICE, RunStatus, db, init_counters
from prometheus_client import Counter
from refsvc import DependencyError, serve_metrics

DATABASE_URL = os.environ.get("DATABASE_URL", "")
WORKERS = int(os.environ.get("EXECUTOR_WORKERS", "2"))
IDLE_POLL = 0.2  # seconds between polls when the queue is empty
STEP = (0.01, 0.04)  # a run's simulated work, seconds (uniform)
LEASE = "10 seconds"  # a running run whose executor vanished is failed after this
REAP_EVERY = 25  # polls between sweeps for expired leases

RUNS = Counter("maestro_runs", "Maestro runs finished, by outcome.", ["service", "outcome"])
for _outcome in (RunStatus.SUCCEEDED, RunStatus.FAILED):
    RUNS.labels(SERVICE, _outcome.value)
init_counters(("claim_run", "finish_run", "reap_runs"))


@dataclass(frozen=True)
class Claimed:
    """A run this worker holds the lease of."""

    id: str
    wants_failure: bool


async def claim() -> Claimed | None:
    """Take the oldest queued run, if any, and mark it running under a lease."""
    async with db(DATABASE_URL, "claim_run") as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT id, parameters FROM maestro_runs WHERE status = %s"
            " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            (RunStatus.QUEUED.value,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        await conn.execute(
            "UPDATE maestro_runs SET status = %s, lease_until = now() + %s::interval,"
            " updated_at = now() WHERE id = %s",
            (RunStatus.RUNNING.value, LEASE, row[0]),
        )
    return Claimed(row[0], json.loads(row[1]).get("fail") is True)


async def execute(run: Claimed) -> None:
    """Do the run's (simulated) work and record its outcome; a failed write fails the run."""
    await asyncio.sleep(random.uniform(*STEP))
    status, error = RunStatus.SUCCEEDED, None
    if run.wants_failure:
        status, error = RunStatus.FAILED, "step failed: the run asked to fail (fail=true)"
    try:
        async with db(DATABASE_URL, "finish_run") as conn:
            await conn.execute(
                "UPDATE maestro_runs SET status = %s, error = %s, lease_until = NULL,"
                " updated_at = now() WHERE id = %s AND status = %s",
                (status.value, error, run.id, RunStatus.RUNNING.value),
            )
    except DependencyError:
        # The outcome was not recorded: for its user the run failed. Its row stays
        # "running" until the lease expires and reap() marks it failed (not counted again).
        status = RunStatus.FAILED
    RUNS.labels(SERVICE, status.value).inc()


async def reap() -> None:
    """Fail runs whose lease expired (their executor died or could not record the outcome)."""
    async with db(DATABASE_URL, "reap_runs") as conn:
        await conn.execute(
            "UPDATE maestro_runs SET status = %s, error = 'lease expired', lease_until = NULL,"
            " updated_at = now() WHERE status = %s AND lease_until < now()",
            (RunStatus.FAILED.value, RunStatus.RUNNING.value),
        )


async def worker(index: int) -> None:
    """Poll, claim, execute, forever; a database error only delays the next poll."""
    polls = index  # stagger the workers' reaping
    while True:
        polls += 1
        try:
            if polls % REAP_EVERY == 0:
                await reap()
            run = await claim()
        except DependencyError:
            run = None  # counted by db(); the queue waits: a lag, not a lost run
        if run is None:
            await asyncio.sleep(IDLE_POLL)
            continue
        await execute(run)


async def main() -> None:
    """Serve /metrics and run the workers until SIGTERM."""
    serve_metrics()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(worker(i)) for i in range(WORKERS)]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
