"""CA3's Processor API users (document 004): CUJ-1, "retrieve latest GPU info".

Dashboards read the latest sample of every GPU (``GET /gpu/info``) and drill into one GPU
(``GET /gpu/info?gpu_id=gpu-N``); a load balancer checks ``GET /health``. Those two endpoints
are exactly SLO-1's scope, and every ``/gpu/info`` read goes to MongoDB (the processor-mongo
edge). The path label of ``starlette_requests_total`` is the route without its query, so both
reads are counted under ``/gpu/info``, as named here. The producers, not locust, drive the
pipeline (SLO-2, SLO-3): their rate is the stack's ``PRODUCE_RATE``.
"""

from __future__ import annotations

import random

from _lib import paced, selected_shape, target
from locust import HttpUser, task

GPUS = 4  # the producers' GPU_COUNT in stacks/ca3/stack.yaml


class DashboardUser(HttpUser):
    """A GPU dashboard: the fleet view, one GPU's panel, and a health check now and then."""

    host = target("processor")
    wait_time = paced()

    @task(4)
    def fleet(self) -> None:
        """GET /gpu/info: the latest sample of every GPU."""
        self.client.get("/gpu/info", name="/gpu/info")

    @task(4)
    def one_gpu(self) -> None:
        """GET /gpu/info?gpu_id=: one GPU's panel."""
        gpu = f"gpu-{random.randrange(GPUS)}"
        self.client.get("/gpu/info", params={"gpu_id": gpu}, name="/gpu/info")

    @task(1)
    def health(self) -> None:
        """GET /health: the load balancer's check."""
        self.client.get("/health", name="/health")


Shape = selected_shape()
