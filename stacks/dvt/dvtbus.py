"""The DVT event bus (Kafka): the events topic, its message format, client settings.

One topic, ``dvt.events``, one partition, keyed by run id: a run's events stay in order.
A message is the outbox row as JSON: ``seq``, ``run_id``, ``version`` (the run's event
number, 1, 2, ...: the projection detects gaps with it), ``type``, ``status`` and
``created_at`` (epoch seconds of the state change, for delivery and projection latency).
"""

from __future__ import annotations

import refkafka
from refkafka import client_options

TOPIC = "dvt.events"

KAFKA_CLIENT = client_options("dvt")


def ensure_topic(bootstrap: str) -> None:
    """Create the events topic if missing (idempotent: relay and projection both call it)."""
    refkafka.ensure_topics(bootstrap, [TOPIC], "dvt")
