"""The traffic tests' scenario: reads of the tiny service, paced to the run's rate."""

from __future__ import annotations

from _lib import paced, selected_shape, target
from locust import HttpUser, task


class Reader(HttpUser):
    """Lists items, and checks health now and then."""

    host = target("tiny")
    wait_time = paced()

    @task(3)
    def items(self) -> None:
        self.client.get("/items")

    @task(1)
    def health(self) -> None:
        self.client.get("/health")


Shape = selected_shape()
