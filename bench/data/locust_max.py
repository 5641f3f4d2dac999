"""The benchmark's locust users: no pacing, one endpoint, as fast as one locust process goes."""

from __future__ import annotations

import os

from locust import FastHttpUser, HttpUser, constant, task


class Flat(HttpUser):
    """sloverify's scenarios' user class (requests-based HttpUser), unpaced."""

    abstract = os.environ.get("BENCH_USER", "http") != "http"
    wait_time = constant(0)

    @task
    def hit(self) -> None:
        """GET the benchmarked path."""
        self.client.get(os.environ.get("BENCH_PATH", "/health"))


class FastFlat(FastHttpUser):
    """locust's faster geventhttpclient user, unpaced, for comparison."""

    abstract = os.environ.get("BENCH_USER", "http") != "fast"
    wait_time = constant(0)

    @task
    def hit(self) -> None:
        """GET the benchmarked path."""
        self.client.get(os.environ.get("BENCH_PATH", "/health"))
