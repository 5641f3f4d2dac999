"""Bounded background traffic for the AgentMesh API: the calls a client of document 002 makes."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

CLIENT_TIMEOUT = 5.0  # refsvc.CLIENT_TIMEOUT: the API's dependency calls give up well before


@dataclass
class Traffic:
    """Worker threads driving each API base URL until stopped, or a count or time bound hits.

    Only valid requests, each of which touches the database once (no /health): a 2xx is the
    expected answer, so any other code is a failure the SLIs should see. A short pause keeps
    the load light on a shared machine; a slow dependency slows each worker down by itself.
    """

    urls: dict[str, str]
    workers_per_url: int = 1
    pause: float = 0.02
    max_seconds: float = 300.0
    max_requests: int = 50_000
    codes: dict[str, Counter[int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sent: int = 0

    def __enter__(self) -> Traffic:
        self.codes = {name: Counter() for name in self.urls}
        for name, url in self.urls.items():
            for _ in range(self.workers_per_url):
                t = threading.Thread(target=self._work, args=(name, url), daemon=True)
                t.start()
                self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=CLIENT_TIMEOUT + 1)

    def _count(self, name: str, code: int) -> bool:
        with self._lock:
            self.codes[name][code] += 1
            self._sent += 1
            return self._sent < self.max_requests

    def _work(self, name: str, base: str) -> None:
        deadline = time.monotonic() + self.max_seconds
        agent: str | None = None
        task: str | None = None
        with httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT, trust_env=False) as client:
            for step in itertools.cycle(range(5)):
                if self._stop.is_set() or time.monotonic() >= deadline:
                    return
                try:
                    if agent is None or step == 0:
                        r = client.post(
                            "/v1/agents", json={"name": f"agent-{name}", "model": "mesh-small"}
                        )
                        agent = r.json()["id"] if r.status_code == 201 else agent
                    elif step == 1:
                        r = client.post(
                            f"/v1/agents/{agent}/tasks", json={"input": "summarise the logs"}
                        )
                        task = r.json()["id"] if r.status_code == 201 else task
                    elif step == 2:
                        r = client.get(f"/v1/agents/{agent}")
                    elif step == 3 and task is not None:
                        r = client.get(f"/v1/tasks/{task}")
                    else:
                        r = client.get("/v1/agents", params={"limit": 5})
                    code = r.status_code
                except httpx.HTTPError:
                    code = 0
                if not self._count(name, code):
                    return
                self._stop.wait(self.pause)

    def snapshot(self) -> dict[str, dict[int, int]]:
        """The answers so far, per URL name and status code."""
        with self._lock:
            return {name: dict(c) for name, c in self.codes.items()}
