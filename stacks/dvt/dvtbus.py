"""The DVT event bus (Kafka): the events topic, its message format, client settings.

One topic, ``dvt.events``, one partition, keyed by run id: a run's events stay in order.
A message is the outbox row as JSON: ``seq``, ``run_id``, ``version`` (the run's event
number, 1, 2, ...: the projection detects gaps with it), ``type``, ``status`` and
``created_at`` (epoch seconds of the state change, for delivery and projection latency).
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError

TOPIC = "dvt.events"
log = logging.getLogger("dvt")

# Every Kafka call gives up well before a client would (refsvc.CLIENT_TIMEOUT, 5 s), and
# reconnects quickly once a fault ends: kafka-python backs off up to 30 s by default.
KAFKA_CLIENT = {
    "request_timeout_ms": 3000,
    "reconnect_backoff_ms": 100,
    "reconnect_backoff_max_ms": 1000,
    "client_id": "dvt",
}


def ensure_topic(bootstrap: str, attempts: int = 40, pause: float = 0.5) -> None:
    """Create the events topic if missing (idempotent: relay and projection both call it).

    Kafka may still be electing its controller a few seconds after it answers: retried for
    about ``attempts * pause`` seconds, then the error ends the process (it is restarted).
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
            if TOPIC not in set(admin.list_topics()):
                admin.create_topics(
                    {TOPIC: {"num_partitions": 1, "replication_factor": 1}},
                    wait_for_metadata=True,
                )
            return
        except TopicAlreadyExistsError:
            return  # the other service won the race
        except KafkaError as exc:
            if attempt == attempts:
                raise
            log.warning("creating the topic failed (%s); retrying", exc)
            time.sleep(pause)
        finally:
            admin.close()
