"""A stack run's synthetic checks as a supervised component, scraped like any service.

It runs ``sloverify synthetic serve FILE`` with every peer of the run as a named target (the
stack's services by name, ``postgres`` for database probes), so the probe metrics
(``sloverify_probe_results_total``) land in the run's Prometheus, where the SLIs that are
computed from probes read them, and a crashed checker is restarted like a service.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sloverify.adapters.runtime.component import Component, Launch, RunContext, http_ok
from sloverify.adapters.runtime.config import ScrapeJob


class Probes(Component):
    """``sloverify synthetic serve`` for one synthetic file."""

    ready_timeout = 30.0

    def __init__(self, file: Path, after: tuple[str, ...]) -> None:
        super().__init__()
        self.file = file.resolve()
        self.name = f"probes-{file.stem}"
        self.depends_on = after  # probe the services only once they are up

    def scrape_job(self) -> ScrapeJob:
        """Scraped as job ``synthetic``."""
        return ScrapeJob("synthetic", (self.address,), "/metrics", {"probes": self.file.stem})

    def prepare(self, ctx: RunContext) -> Launch:
        """Every peer's URL as a target."""
        targets = [
            a
            for name, peer in ctx.peers.items()
            if peer is not self
            for a in ("--target", f"{name}={peer.url}")
            if "://" in peer.url
        ]
        command = [
            sys.executable,
            "-m",
            "sloverify",
            "synthetic",
            "serve",
            str(self.file),
            "--listen",
            self.address,
            "--time-scale",
            str(ctx.scale),
            *targets,
        ]
        return Launch(command)

    def ready(self) -> bool:
        """``/healthz`` answers 200."""
        return http_ok(f"{self.url}/healthz")
