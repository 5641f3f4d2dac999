"""DVT projection: consumes the event bus into the read model (``dvt_run_views``).

A worker without HTTP (``/metrics`` on $METRICS_PORT). Each poll's batch of events is
applied on one fresh StateStore connection in one transaction: per event, the run's view is
upserted when the event's ``version`` is the next one (an older version is a duplicate of
at-least-once delivery and skipped; a newer one means events went missing: counted in
``dvt_projection_gaps_total``, 003's "projection gap detection", and applied), and the
outbox row is marked projected. Offsets are committed to Kafka only after the batch is
written; a failed write seeks back and retries after a pause (a fault becomes lag, then
catch-up).

Metrics: ``dvt_projection_lag_events`` (003's projection lag: events in the StateStore not
yet in the read model, whether unrelayed, in Kafka or unapplied; refreshed every
``LAG_EVERY`` seconds, and kept at its last value while the StateStore cannot be read),
``dvt_projection_update_latency_seconds`` (state change committed to applied in the read
model: 003's "state update -> UI refresh"), ``dvt_projection_applied_events_total``.

Anything unexpected ends the process: the supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from typing import Any

from dvtbus import KAFKA_CLIENT, TOPIC, ensure_topic
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client import Counter, Gauge, Histogram
from refsvc import DependencyError, pg, serve_metrics

DATABASE_URL = os.environ.get("DATABASE_URL", "")
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
GROUP = "dvt-projection"
RETRY_PAUSE = 0.5  # seconds before retrying a batch that could not be written
LAG_EVERY = 0.5  # seconds between lag measurements

LAG = Gauge("dvt_projection_lag_events", "Events in the StateStore not yet in the read model.")
UPDATE_LATENCY = Histogram(
    "dvt_projection_update_latency_seconds",
    "State change committed to applied in the read model, seconds.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
GAPS = Counter("dvt_projection_gaps", "Events that skipped versions of their run (missing).")
APPLIED = Counter("dvt_projection_applied_events", "Events applied to the read model.")
DUPLICATES = Counter("dvt_projection_duplicate_events", "Events already applied (redelivered).")
FAILURES = Counter("dvt_projection_failures", "Batches that could not be written (retried).")

log = logging.getLogger("dvt.projection")


def fold(
    applied: dict[str, int], events: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, int], list[int]]:
    """Fold a batch over the views' versions: new views, events per run, seqs applied.

    The next version of a run applies; an older one is a duplicate (skipped); a newer one
    means versions went missing (counted as gaps) and applies too.
    """
    views: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    seqs: list[int] = []
    for event in events:
        run = event["run_id"]
        current = applied.get(run, 0)
        if event["version"] <= current:
            DUPLICATES.inc()
            continue
        if event["version"] > current + 1:
            GAPS.inc(event["version"] - current - 1)
            log.warning("gap in run %s: version %d after %d", run, event["version"], current)
        applied[run] = event["version"]
        views[run] = event
        counts[run] = counts.get(run, 0) + 1
        seqs.append(event["seq"])
    return views, counts, seqs


async def write(events: list[dict[str, Any]]) -> list[float]:
    """Apply a batch in one transaction of four statements; the new events' latencies.

    A constant number of round trips per batch, so a latency fault on the edge slows the
    projection by a batch's worth of round trips, not by thousands.
    """
    runs = sorted({e["run_id"] for e in events})
    async with pg(DATABASE_URL, "statestore", timeout=2.0) as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT run_id, version FROM dvt_run_views WHERE run_id = ANY(%s)"
            " ORDER BY run_id FOR UPDATE",
            (runs,),
        )
        applied = {run: version for run, version in await cur.fetchall()}
        views, counts, seqs = fold(applied, events)
        if not views:
            return []
        names = sorted(views)
        await conn.execute(
            "INSERT INTO dvt_run_views (run_id, status, version, events_applied, last_event,"
            " updated_at) SELECT r, s, v, n, t, clock_timestamp()"
            " FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[], %s::text[])"
            " AS u(r, s, v, n, t)"
            " ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status,"
            " version = EXCLUDED.version,"
            " events_applied = dvt_run_views.events_applied + EXCLUDED.events_applied,"
            " last_event = EXCLUDED.last_event, updated_at = EXCLUDED.updated_at",
            (
                names,
                [views[n]["status"] for n in names],
                [views[n]["version"] for n in names],
                [counts[n] for n in names],
                [views[n]["type"] for n in names],
            ),
        )
        cur = await conn.execute(
            "UPDATE dvt_outbox SET projected_at = clock_timestamp()"
            " WHERE seq = ANY(%s) AND projected_at IS NULL"
            " RETURNING extract(epoch FROM projected_at - created_at)",
            (seqs,),
        )
        return [float(r[0]) for r in await cur.fetchall()]


async def measure_lag() -> None:
    """Refresh the lag gauge from the StateStore (left as it was if that fails)."""
    try:
        async with pg(DATABASE_URL, "statestore") as conn:
            cur = await conn.execute("SELECT count(*) FROM dvt_outbox WHERE projected_at IS NULL")
            row = await cur.fetchone()
    except DependencyError as exc:
        log.warning("measuring the lag failed: %s", exc)
        return
    if row is not None:
        LAG.set(row[0])


def _decode(value: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(value)
        if (
            isinstance(event, dict)
            and {"seq", "run_id", "version", "type", "status"} <= event.keys()
        ):
            return event
    except ValueError:
        pass
    return None


async def project(consumer: KafkaConsumer, stop: asyncio.Event) -> None:
    """Poll, write, commit until ``stop``; a failed write seeks back and retries."""
    partition = TopicPartition(TOPIC, 0)
    last_lag = 0.0
    while not stop.is_set():
        if time.monotonic() - last_lag >= LAG_EVERY:
            await measure_lag()
            last_lag = time.monotonic()
        try:
            batches = await asyncio.to_thread(consumer.poll, 300, 500)
        except KafkaError as exc:
            log.warning("polling the event bus failed: %s", exc)
            await asyncio.sleep(RETRY_PAUSE)
            continue
        records = [r for rs in batches.values() for r in rs]
        if not records:
            continue
        events = [e for e in (_decode(r.value) for r in records) if e is not None]
        try:
            latencies = await write(events)
        except DependencyError as exc:
            FAILURES.inc()
            log.warning("writing %d events failed, will retry: %s", len(events), exc)
            consumer.seek(partition, records[0].offset)
            await asyncio.sleep(RETRY_PAUSE)
            continue
        for seconds in latencies:
            UPDATE_LATENCY.observe(seconds)
        APPLIED.inc(len(latencies))
        try:
            await asyncio.to_thread(consumer.commit)
        except KafkaError as exc:  # replayed after a restart; the version check absorbs it
            log.warning("offset commit failed: %s", exc)


async def main() -> None:
    """Serve /metrics, make sure the topic exists, project until SIGTERM."""
    logging.basicConfig(level=logging.WARNING)
    serve_metrics()
    GAPS.inc(0)
    await asyncio.to_thread(ensure_topic, BOOTSTRAP)
    consumer = KafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_poll_records=500,
        **KAFKA_CLIENT,
    )
    # Assigned, not subscribed: one projection reads the partition, and a restarted process
    # resumes at once instead of waiting for a rebalance (the group keys the offsets).
    consumer.assign([TopicPartition(TOPIC, 0)])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await project(consumer, stop)
    finally:
        consumer.close(autocommit=False)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception:
        logging.getLogger("dvt.projection").exception("the projection failed; ending")
        raise
