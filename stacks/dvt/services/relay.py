"""DVT outbox relay: publishes the StateStore's outbox to the event bus, at least once.

A worker without HTTP (``/metrics`` on $METRICS_PORT). Every round it reads the oldest
unpublished outbox rows (a fresh StateStore connection), sends them to Kafka (``dvt.events``,
keyed by run), waits for Kafka's acknowledgements, and only then marks them published. A
failure anywhere leaves the rows unpublished and the next round sends them again: a fault on
either edge (``dvt-outbox-relay-postgres``, ``dvt-outbox-relay-kafka``) becomes delivery
latency and projection lag, never a lost event; a row acknowledged but not marked is sent
twice, which the projection's version check absorbs.

``dvt_outbox_delivery_duration_seconds`` is 003's "outbox delivery, includes retries": the
state change's commit (the row's ``created_at``) to Kafka's acknowledgement, observed once
per row when it is marked published. ``dvt_outbox_published_events_total`` counts them,
``dvt_outbox_relay_failures_total{stage}`` the failed rounds.
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
from kafka import KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import Counter, Histogram
from refsvc import DependencyError, pg, serve_metrics

DATABASE_URL = os.environ.get("DATABASE_URL", "")
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
BATCH = 200
IDLE_POLL = 0.05  # seconds between rounds when the outbox is empty
ERROR_PAUSE = 0.25  # seconds after a failed round
ACK_TIMEOUT = 3.0  # seconds to wait for Kafka's acknowledgements of one batch

DELIVERY = Histogram(
    "dvt_outbox_delivery_duration_seconds",
    "Outbox row written (state change committed) to acknowledged by Kafka, retries included.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
PUBLISHED = Counter("dvt_outbox_published_events", "Outbox rows published to the event bus.")
FAILURES = Counter("dvt_outbox_relay_failures", "Relay rounds that failed, by stage.", ["stage"])
for _stage in ("statestore", "kafka"):
    FAILURES.labels(_stage)

log = logging.getLogger("dvt.relay")


async def fetch() -> list[tuple[Any, ...]]:
    """The oldest unpublished outbox rows (with their age in seconds, by the DB's clock)."""
    async with pg(DATABASE_URL, "statestore") as conn:
        cur = await conn.execute(
            "SELECT seq, run_id, version, type, status, extract(epoch FROM created_at)"
            " FROM dvt_outbox WHERE published_at IS NULL ORDER BY seq LIMIT %s",
            (BATCH,),
        )
        return await cur.fetchall()


def publish(producer: KafkaProducer, rows: list[tuple[Any, ...]]) -> None:
    """Send the rows in order and wait for every acknowledgement (raises KafkaError)."""
    futures = []
    for seq, run_id, version, kind, status, created in rows:
        event = {
            "seq": seq,
            "run_id": run_id,
            "version": version,
            "type": kind,
            "status": status,
            "created_at": float(created),
        }
        futures.append(producer.send(TOPIC, key=run_id.encode(), value=json.dumps(event).encode()))
    producer.flush(timeout=ACK_TIMEOUT)
    deadline = time.monotonic() + ACK_TIMEOUT
    for future in futures:
        future.get(timeout=max(0.01, deadline - time.monotonic()))


async def mark(rows: list[tuple[Any, ...]]) -> list[float]:
    """Mark the rows published; each row's delivery time (commit to now), DB clock."""
    async with pg(DATABASE_URL, "statestore") as conn:
        cur = await conn.execute(
            "UPDATE dvt_outbox SET published_at = clock_timestamp()"
            " WHERE seq = ANY(%s) AND published_at IS NULL"
            " RETURNING extract(epoch FROM published_at - created_at)",
            ([row[0] for row in rows],),
        )
        return [float(r[0]) for r in await cur.fetchall()]


async def relay(producer: KafkaProducer, stop: asyncio.Event) -> None:
    """Rounds of fetch, publish, mark until ``stop``; failures retry the same rows."""
    while not stop.is_set():
        try:
            rows = await fetch()
        except DependencyError as exc:
            FAILURES.labels("statestore").inc()
            log.warning("reading the outbox failed: %s", exc)
            await asyncio.sleep(ERROR_PAUSE)
            continue
        if not rows:
            await asyncio.sleep(IDLE_POLL)
            continue
        try:
            await asyncio.to_thread(publish, producer, rows)
        except KafkaError as exc:
            FAILURES.labels("kafka").inc()
            log.warning("publishing %d events failed, will retry: %s", len(rows), exc)
            await asyncio.sleep(ERROR_PAUSE)
            continue
        try:
            delivered = await mark(rows)
        except DependencyError as exc:
            FAILURES.labels("statestore").inc()
            log.warning("marking %d events failed (they are sent again): %s", len(rows), exc)
            await asyncio.sleep(ERROR_PAUSE)
            continue
        for seconds in delivered:
            DELIVERY.observe(seconds)
        PUBLISHED.inc(len(delivered))


async def main() -> None:
    """Serve /metrics, make sure the topic exists, relay until SIGTERM."""
    logging.basicConfig(level=logging.WARNING)
    serve_metrics()
    await asyncio.to_thread(ensure_topic, BOOTSTRAP)
    producer = KafkaProducer(
        bootstrap_servers=BOOTSTRAP,
        acks="all",
        linger_ms=2,
        # A batch not acknowledged within ACK_TIMEOUT is sent again by the next round, so
        # the producer's own retries need not outlive it by much.
        delivery_timeout_ms=5000,
        max_block_ms=2000,
        **KAFKA_CLIENT,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await relay(producer, stop)
    finally:
        producer.close(timeout=2)


if __name__ == "__main__":
    asyncio.run(main())
