"""CA3 producers (CUJ-2): GPU telemetry and token-usage events into Kafka at a steady rate.

A worker without HTTP (``/metrics`` on $METRICS_PORT). Every tick (``PRODUCE_RATE`` per
second, default 10) it sends one GPU event (round robin over ``GPU_COUNT`` GPUs) and one
token event, each stamped with ``enqueued_at``. A message counts in
``app_produced_messages_total{stream}`` only once Kafka acknowledged it: that is the rate
the SLO-3 proxy compares the processor's with, and a message Kafka never took is not one
the pipeline could lose. A send that fails for good (Kafka unreachable for longer than the
delivery timeout) counts in ``app_produce_failures_total{stream}`` instead.

A fault on the ``producers-kafka`` edge: kafka-python keeps unsent messages in its buffer
and retries them until ``delivery_timeout_ms``, so a short fault delays messages (their
end-to-end latency grows) and a long one fails them, counted. One long-lived producer
connection is what real producers use; per-connection toxicity does not matter here, the
SLO reads rates, not a request error ratio.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import signal
import threading
import time
import uuid
from typing import Any

from ca3bus import KAFKA_CLIENT, Stream, ensure_topics
from kafka import KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import Counter
from refsvc import serve_metrics

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
RATE = float(os.environ.get("PRODUCE_RATE", "10"))  # ticks per second, one message per stream
GPU_COUNT = int(os.environ.get("GPU_COUNT", "4"))
HOSTS = ("node-a", "node-b")
MODELS = ("llama-3-8b", "mistral-7b", "qwen2-7b")

PRODUCED = Counter("app_produced_messages", "Messages Kafka acknowledged, by stream.", ["stream"])
FAILED = Counter(
    "app_produce_failures", "Messages Kafka never acknowledged (delivery timed out).", ["stream"]
)
for _s in Stream:
    PRODUCED.labels(_s.value)
    FAILED.labels(_s.value)

log = logging.getLogger("ca3.producers")


def gpu_event(seq: int) -> tuple[str, dict[str, Any]]:
    """The next GPU's telemetry sample: (key, value)."""
    index = seq % GPU_COUNT
    gpu_id = f"gpu-{index}"
    total = 81920
    return gpu_id, {
        "gpu_id": gpu_id,
        "host": HOSTS[index % len(HOSTS)],
        "utilization_percent": round(random.uniform(20.0, 99.0), 1),
        "memory_used_mb": random.randint(4096, total),
        "memory_total_mb": total,
        "temperature_c": round(random.uniform(40.0, 85.0), 1),
        "power_w": round(random.uniform(90.0, 400.0), 1),
        "seq": seq,
    }


def token_event(seq: int) -> tuple[str, dict[str, Any]]:
    """One inference request's token usage: (key, value)."""
    request_id = uuid.uuid4().hex
    return request_id, {
        "request_id": request_id,
        "model": MODELS[seq % len(MODELS)],
        "gpu_id": f"gpu-{seq % GPU_COUNT}",
        "prompt_tokens": random.randint(10, 2000),
        "completion_tokens": random.randint(1, 1000),
        "seq": seq,
    }


def _acked(stream: Stream) -> Any:
    def callback(_metadata: Any) -> None:
        PRODUCED.labels(stream.value).inc()

    return callback


def _failed(stream: Stream) -> Any:
    def errback(exc: BaseException) -> None:
        FAILED.labels(stream.value).inc()
        log.warning("%s message not delivered: %s", stream.value, exc)

    return errback


def main() -> None:
    """Serve /metrics, make sure the topics exist, produce until SIGTERM."""
    logging.basicConfig(level=logging.WARNING)
    serve_metrics()
    ensure_topics(BOOTSTRAP)
    producer = KafkaProducer(
        bootstrap_servers=BOOTSTRAP,
        # One broker: "all" is one acknowledgement, and keeps idempotence on, so the
        # producer's retries after a fault never duplicate a message.
        acks="all",
        linger_ms=5,
        # Retried for 30 s, then failed and counted: a fault shorter than that only delays.
        delivery_timeout_ms=30000,
        # send() blocks at most this long when metadata is unknown (Kafka unreachable): the
        # loop slows down instead of spinning.
        max_block_ms=3000,
        **KAFKA_CLIENT,
    )
    for stream in Stream:  # metadata first, so the first sends do not wait for it
        try:
            producer.partitions_for(stream.topic)
        except KafkaError as exc:
            log.warning("no metadata for %s yet (%s); sends will wait for it", stream.topic, exc)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    period = 1.0 / RATE
    next_tick = time.monotonic()
    for seq in itertools.count():
        if stop.is_set():
            break
        for stream, (key, value) in (
            (Stream.GPU, gpu_event(seq)),
            (Stream.TOKENS, token_event(seq)),
        ):
            value["enqueued_at"] = time.time()
            try:
                future = producer.send(
                    stream.topic, key=key.encode(), value=json.dumps(value).encode()
                )
            except KafkaError as exc:  # no metadata within max_block_ms: not enqueued at all
                _failed(stream)(exc)
                continue
            future.add_callback(_acked(stream))
            future.add_errback(_failed(stream))
        # A steady schedule; after a stall (a blocked send) start again from now rather
        # than bursting to catch up.
        next_tick = max(next_tick + period, time.monotonic())
        stop.wait(max(0.0, next_tick - time.monotonic()))
    producer.close(timeout=2)


if __name__ == "__main__":
    main()
