"""DVT engine's users (document 003): clients submitting runs, following them, pausing them.

Every request is on the engine API under ``/api/v1`` (never ``/health``: the synthetic
uptime probe checks that) and is named by its route template, the ``path`` label of the
service's own ``dvt_api_requests_total``, so locust's per-endpoint counts line up with the
service's one to one.

- submit a run (``POST /runs``, 003's "RunRequest -> plan persisted"): the worker executes
  its plan, so submissions feed the completion, StateStore write, outbox delivery and
  projection SLIs downstream;
- follow runs: read one back (``GET /runs/{run_id}``), list the newest, or the paused ones
  (``GET /runs``), read a run's projection (``GET /runs/{run_id}/projection``, the read
  model behind the UI refresh);
- pause and resume (``POST /runs/{run_id}/signals``, 003's pause latency): a run submitted
  and paused at once, read back, then resumed, one paced step after another.

Every request is one the API answers 2xx on a healthy stack, so a healthy run has no
failures: a projection is read only for runs submitted ``SETTLED`` seconds before (so it
shows the run's events, not an empty read model), and only runs that cannot have
completed are paused (a signal to a completed run is 409): the pause follows the submission
in the same step, and that run has ``PAUSED_STEPS`` activities to go.

At one request per user per second, 30 users submit about 4.6 runs/s (about 400,000 runs a
day: near 003's Phase 3 target of 500,000) and send about 4.6 signals/s; the worker's two
tasks then execute ~16 activities/s, well inside what they manage, so completion latency
reflects the engine and not a backlog. Paused runs stay paused ~2 steps (2 s at one request
per user per second), well under 003's 5 s completion objective. The pause step's two
requests put the load ~8% above its paced rate (14 requests per 13 paced tasks).
"""

from __future__ import annotations

import random
import time
from collections import deque

from _lib import paced, selected_shape, target
from locust import HttpUser, SequentialTaskSet, task
from requests import Response

API = "/api/v1"
WORKFLOWS = ("orders-daily", "customers-dedup", "revenue-rollup", "events-sessionize")
STEPS = 3  # a submitted run's activities (the API's default)
PAUSED_STEPS = 4  # a run to pause: ≥40 ms of work left when the PAUSE arrives ms later
SETTLED = 2.0  # seconds: a run this old has its projection (healthy lag is well under 1 s)

RUNS = f"{API}/runs"
RUN = f"{API}/runs/{{run_id}}"
PROJECTION = f"{API}/runs/{{run_id}}/projection"
SIGNALS = f"{API}/runs/{{run_id}}/signals"


def _body(steps: int) -> dict[str, object]:
    return {
        "workflow": random.choice(WORKFLOWS),
        "steps": steps,
        "parameters": {"source": "locust", "partition": random.randrange(100)},
    }


class DvtClient(HttpUser):
    """One client of the engine: submits runs, follows its own, now and then pauses one."""

    host = target("dvt-engine")
    wait_time = paced()

    def on_start(self) -> None:
        """No request: the first task that needs a run submits one."""
        self.runs: deque[tuple[str, float]] = deque(maxlen=20)  # (run id, submitted at)

    def submit(self, steps: int = STEPS) -> str | None:
        """POST /runs: a run of ``steps`` activities; its id, remembered, if it was created."""
        r = self.client.post(RUNS, json=_body(steps), name=RUNS)
        if r.status_code != 201:
            return None
        run_id: str = r.json()["id"]
        self.runs.append((run_id, time.monotonic()))
        return run_id

    def signal(self, run_id: str, kind: str) -> Response:
        """POST /runs/{run_id}/signals."""
        return self.client.post(f"{API}/runs/{run_id}/signals", json={"signal": kind}, name=SIGNALS)

    @task(1)
    def submit_run(self) -> None:
        """POST /runs: start a run of a workflow."""
        self.submit()

    @task(4)
    def get_run(self) -> None:
        """GET /runs/{run_id}: one of this client's runs (a new one if it has none)."""
        if not self.runs:
            self.submit()
            return
        run_id, _ = random.choice(self.runs)
        self.client.get(f"{API}/runs/{run_id}", name=RUN)

    @task(2)
    def list_runs(self) -> None:
        """GET /runs: the newest runs, or the paused ones, as a dashboard lists them."""
        params: dict[str, str | int] = {"limit": 20}
        if random.random() < 0.25:
            params["status"] = "paused"
        self.client.get(RUNS, params=params, name=RUNS)

    @task(3)
    def get_projection(self) -> None:
        """GET /runs/{run_id}/projection: a settled run's read model (else read the run)."""
        now = time.monotonic()
        settled = [run_id for run_id, at in self.runs if now - at >= SETTLED]
        if not settled:
            self.get_run()
            return
        run_id = random.choice(settled)
        self.client.get(f"{API}/runs/{run_id}/projection", name=PROJECTION)

    @task(1)
    class PauseResume(SequentialTaskSet):
        """An operator's pause: submit and pause a run, look at it, resume it."""

        user: DvtClient  # locust's TaskSet.user, typed as the client that runs this set
        run_id: str | None = None

        @task
        def submit_and_pause(self) -> None:
            """POST /runs then at once POST /runs/{run_id}/signals PAUSE."""
            self.run_id = self.user.submit(PAUSED_STEPS)
            if self.run_id is None:
                # Nothing to pause (the API failed): back to the client, after its wait.
                self.interrupt(reschedule=False)
            self.user.signal(self.run_id, "PAUSE")

        @task
        def look(self) -> None:
            """GET /runs/{run_id}: the paused run (paused once the worker took the signal)."""
            assert self.run_id is not None
            self.client.get(f"{API}/runs/{self.run_id}", name=RUN)

        @task
        def resume(self) -> None:
            """POST /runs/{run_id}/signals RESUME, and back to the client's other tasks."""
            assert self.run_id is not None
            self.user.signal(self.run_id, "RESUME")
            self.interrupt(reschedule=False)  # the client's next task waits its turn


Shape = selected_shape()
