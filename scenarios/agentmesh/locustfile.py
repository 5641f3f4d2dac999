"""AgentMesh Cloud's users (document 002): clients registering agents and sending them tasks.

Both deployments get traffic, production three times as much as preview (each has its own
latency SLO), through the same journey: register an agent, queue tasks for it, poll a task's
status, read the agent back, list the newest agents. Every request runs one SQL statement
(see stacks/agentmesh/services/api.py), so the requests feed the api-success and latency SLIs
and, one to one, the database-errors SLI. Requests are named by route template, the ``path``
label of the service's ``http_requests_total``. ``/health`` is left to the synthetic uptime
probes (the availability SLI reads those), so load never inflates it.

002's load tests map to the shapes: peak load is ``load`` (expected traffic held), stress
testing is ``stress`` (step up beyond capacity, the capacity reported), spike testing is
``spike`` and endurance is ``endurance``; ``--users`` and ``--rate`` set the peak.
"""

from __future__ import annotations

import random
from collections import deque

from _lib import paced, selected_shape, target
from locust import HttpUser, task
from requests import Response

MODELS = ("mesh-small", "mesh-medium", "mesh-large")
INPUTS = ("summarise the logs", "triage the incident", "draft the release notes")


class _MeshClient(HttpUser):
    """One API client: its own agents and tasks, mostly reading them back."""

    abstract = True
    wait_time = paced()

    def on_start(self) -> None:
        """Every client starts by registering an agent of its own."""
        self.agents: deque[str] = deque(maxlen=10)
        self.task_ids: deque[str] = deque(maxlen=20)  # not "tasks": locust's own attribute
        self.register_agent()

    def _saved(self, r: Response, into: deque[str]) -> None:
        if r.status_code == 201:
            into.append(r.json()["id"])

    @task(1)
    def register_agent(self) -> None:
        """POST /v1/agents."""
        body = {"name": f"agent-{random.randrange(10**6)}", "model": random.choice(MODELS)}
        self._saved(self.client.post("/v1/agents", json=body, name="/v1/agents"), self.agents)

    @task(2)
    def queue_task(self) -> None:
        """POST /v1/agents/{agent_id}/tasks: a task for one of this client's agents."""
        if not self.agents:
            self.register_agent()
            return
        agent = random.choice(self.agents)
        body = {"input": random.choice(INPUTS), "priority": random.randint(0, 9)}
        r = self.client.post(
            f"/v1/agents/{agent}/tasks", json=body, name="/v1/agents/{agent_id}/tasks"
        )
        self._saved(r, self.task_ids)

    @task(3)
    def poll_task(self) -> None:
        """GET /v1/tasks/{task_id}: follow a queued task."""
        if not self.task_ids:
            self.queue_task()
            return
        self.client.get(f"/v1/tasks/{random.choice(self.task_ids)}", name="/v1/tasks/{task_id}")

    @task(2)
    def read_agent(self) -> None:
        """GET /v1/agents/{agent_id}."""
        if not self.agents:
            self.register_agent()
            return
        agent = random.choice(self.agents)
        self.client.get(f"/v1/agents/{agent}", name="/v1/agents/{agent_id}")

    @task(2)
    def list_agents(self) -> None:
        """GET /v1/agents: the newest agents."""
        self.client.get("/v1/agents", params={"limit": 20}, name="/v1/agents")


class ProductionClient(_MeshClient):
    """A client of the production deployment (p95 300 ms SLO)."""

    weight = 3
    host = target("agentmesh-api-production")


class PreviewClient(_MeshClient):
    """A client of the preview deployment (p95 400 ms SLO)."""

    weight = 1
    host = target("agentmesh-api-preview")


Shape = selected_shape()
