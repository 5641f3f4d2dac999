"""Maestro's users (documents 000 and 001): the UI reading runs and pipelines, workflows writing.

Every request is on one of 000's six endpoints under ``/api/maestro/v1`` (never ``/health``),
so every request is in the availability SLI (``path=~"/api/maestro/v1/.*"``) and each one is
named by its route template, the ``path`` label the service's own metrics carry: locust's
per-endpoint counts then line up with ``http_requests_total`` one to one.

- reads (the UI and the routing layer; 000's read-latency SLO): list runs, open one, browse
  the pipeline catalog and one pipeline;
- writes (workflow fan-out; 000's mutating-success and run-creation-latency SLOs): create a
  run, or kick off a pipeline execution, then follow the run it queued. The executor runs
  them (001's run-success SLO); none asks to fail, so healthy traffic keeps that SLO clean.

Reads outnumber writes 4 to 1, as a control plane's UI polls far more than it launches.
"""

from __future__ import annotations

import random
from collections import deque

from _lib import paced, selected_shape, target
from locust import HttpUser, task
from requests import Response

API = "/api/maestro/v1"
# The catalog the API seeds at start-up (stacks/maestro/maestrodb.py); read again on start.
SEED_PIPELINES = ("build", "deploy", "nightly-etl", "model-eval")


class MaestroUser(HttpUser):
    """One client of the control plane: mostly reads, now and then a run."""

    host = target("maestro-api")
    wait_time = paced()

    def on_start(self) -> None:
        """Learn the pipeline catalog (the seeded one if the API cannot answer)."""
        self.pipelines: list[str] = list(SEED_PIPELINES)
        self.runs: deque[str] = deque(maxlen=20)  # runs this user created, to follow them
        r = self.client.get(f"{API}/pipelines", name=f"{API}/pipelines")
        if r.ok:
            self.pipelines = [p["id"] for p in r.json()] or self.pipelines

    def _remember(self, r: Response) -> None:
        if r.status_code == 201:
            self.runs.append(r.json()["id"])

    @task(4)
    def list_runs(self) -> None:
        """GET /runs: the newest runs, as the UI lists them."""
        r = self.client.get(f"{API}/runs", params={"limit": 20}, name=f"{API}/runs")
        if r.ok and not self.runs:
            self.runs.extend(run["id"] for run in r.json()[:5])

    @task(4)
    def get_run(self) -> None:
        """GET /runs/{id}: one of this user's runs (or a listed one)."""
        if not self.runs:
            self.list_runs()
            return
        run_id = random.choice(self.runs)
        self.client.get(f"{API}/runs/{run_id}", name=f"{API}/runs/{{id}}")

    @task(4)
    def list_pipelines(self) -> None:
        """GET /pipelines: the catalog."""
        self.client.get(f"{API}/pipelines", name=f"{API}/pipelines")

    @task(4)
    def get_pipeline(self) -> None:
        """GET /pipelines/{id}: one pipeline."""
        pipeline = random.choice(self.pipelines)
        self.client.get(f"{API}/pipelines/{pipeline}", name=f"{API}/pipelines/{{id}}")

    @task(2)
    def create_run(self) -> None:
        """POST /runs: queue a run of a pipeline."""
        body = {"pipeline_id": random.choice(self.pipelines), "parameters": {"source": "locust"}}
        self._remember(self.client.post(f"{API}/runs", json=body, name=f"{API}/runs"))

    @task(2)
    def execute_pipeline(self) -> None:
        """POST /pipelines/{id}/executions: kick off an execution."""
        pipeline = random.choice(self.pipelines)
        r = self.client.post(
            f"{API}/pipelines/{pipeline}/executions",
            json={"parameters": {"trigger": "locust"}},
            name=f"{API}/pipelines/{{id}}/executions",
        )
        self._remember(r)


Shape = selected_shape()
