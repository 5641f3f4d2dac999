"""A scenario on the tiny service's 200 ms endpoint: a stress run with a 100 ms p95 limit breaks."""

from __future__ import annotations

from _lib import paced, selected_shape, target
from locust import HttpUser, task


class SlowReader(HttpUser):
    """Calls the slow endpoint."""

    host = target("tiny")
    wait_time = paced()

    @task
    def slow(self) -> None:
        self.client.get("/slow")


Shape = selected_shape()
