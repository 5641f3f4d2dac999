"""The reference pipelines' shared Kafka kit: client settings that recover fast, topic creation.

Every Kafka call gives up well before a client would (refsvc.CLIENT_TIMEOUT is 5 s), and
reconnects quickly once a fault on the edge ends: kafka-python backs off up to 30 s by
default, which would turn a 10 s fault into 40 s of lag.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger("refkafka")


def client_options(client_id: str) -> dict[str, Any]:
    """kafka-python settings for every client of a reference pipeline."""
    return {
        "request_timeout_ms": 3000,
        "reconnect_backoff_ms": 100,
        "reconnect_backoff_max_ms": 1000,
        "client_id": client_id,
    }


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    client_id: str,
    attempts: int = 40,
    pause: float = 0.5,
) -> None:
    """Create the topics that are missing, one partition each (idempotent, race-safe).

    Kafka may still be electing its controller a few seconds after it answers metadata:
    retried for about ``attempts * pause`` seconds, then the error ends the process (the
    supervisor restarts it). Two services creating the same topic at once is fine.
    """
    wanted = list(topics)
    for attempt in range(1, attempts + 1):
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client_options(client_id))
        except KafkaError as exc:
            if attempt == attempts:
                raise
            log.warning("kafka admin not reachable yet (%s); retrying", exc)
            time.sleep(pause)
            continue
        try:
            missing = [t for t in wanted if t not in set(admin.list_topics())]
            if missing:
                spec = {"num_partitions": 1, "replication_factor": 1}
                admin.create_topics({t: dict(spec) for t in missing}, wait_for_metadata=True)
            return
        except TopicAlreadyExistsError:
            return  # the other service won the race
        except KafkaError as exc:
            if attempt == attempts:
                raise
            log.warning("creating topics %s failed (%s); retrying", missing, exc)
            time.sleep(pause)
        finally:
            admin.close()
