"""What the CA3 producers and the processor share: streams, topics, Kafka client settings.

Two streams, one topic each (``ca3.gpu-events``, ``ca3.token-events``); every message is a
JSON object carrying ``enqueued_at``, the producer's wall-clock time when it handed the
message to Kafka, from which the processor measures SLO-3's end-to-end latency.
"""

from __future__ import annotations

from enum import StrEnum

import refkafka
from refkafka import client_options


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

KAFKA_CLIENT = client_options("ca3")


def ensure_topics(bootstrap: str) -> None:
    """Create both topics if missing (idempotent: producers and processor both call it)."""
    refkafka.ensure_topics(bootstrap, TOPICS.values(), "ca3")
