"""What the CA3 producers and the processor share: streams, topics, Kafka client settings.

Two streams, one topic each (``ca3.gpu-events``, ``ca3.token-events``); every message is a
JSON object carrying ``enqueued_at``, the producer's wall-clock time when it handed the
message to Kafka, from which the processor measures SLO-3's end-to-end latency.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger("ca3")


class Stream(StrEnum):
    """A message stream: the ``stream`` label of the app_* metrics."""

    GPU = "gpu"
    TOKENS = "tokens"

    @property
    def topic(self) -> str:
        """The Kafka topic of the stream."""
        return TOPICS[self]


TOPICS = {Stream.GPU: "ca3.gpu-events", Stream.TOKENS: "ca3.token-events"}
STREAM_OF_TOPIC = {s.topic: s for s in Stream}

# Every Kafka call gives up well before a client would (refsvc.CLIENT_TIMEOUT is 5 s), and
# reconnects quickly once a fault on the edge ends: kafka-python backs off up to 30 s by
# default, which would turn a 10 s fault into 40 s of lag.
KAFKA_CLIENT = {
    "request_timeout_ms": 3000,
    "reconnect_backoff_ms": 100,
    "reconnect_backoff_max_ms": 1000,
    "client_id": "ca3",
}


def ensure_topics(bootstrap: str, attempts: int = 40, pause: float = 0.5) -> None:
    """Create both topics if missing (idempotent: producers and processor both call it).

    Kafka may still be electing its controller a few seconds after it answers metadata:
    retried for about ``attempts * pause`` seconds, then the error ends the process (the
    supervisor restarts it).
    """
    for attempt in range(1, attempts + 1):
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_CLIENT)
        except KafkaError as exc:
            if attempt == attempts:
                raise
            log.warning("kafka admin not reachable yet (%s); retrying", exc)
            time.sleep(pause)
            continue
        try:
            missing = [s.topic for s in Stream if s.topic not in set(admin.list_topics())]
            if missing:
                spec = {"num_partitions": 1, "replication_factor": 1}
                admin.create_topics({t: dict(spec) for t in missing}, wait_for_metadata=True)
            return
        except TopicAlreadyExistsError:
            return  # the other service won the race
        except KafkaError as exc:
            if attempt == attempts:
                raise
            log.warning("creating topics failed (%s); retrying", exc)
            time.sleep(pause)
        finally:
            admin.close()
