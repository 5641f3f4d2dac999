"""The base of every runtime component: what to launch, the run context, readiness."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import httpx

from sloverify.adapters.runtime.config import DEFAULT_SEVERITIES, ScrapeJob
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.runtime.registry import RunDir
from sloverify.adapters.tools import Tools


@dataclass(frozen=True)
class Launch:
    """What to execute for a component."""

    command: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None


@dataclass
class RunContext:
    """What components need to prepare themselves: folders, tools, scale, their peers."""

    run: RunDir
    tools: Tools
    scale: Fraction = Fraction(1)
    rule_files: list[Path] = field(default_factory=list)
    scrape_jobs: list[ScrapeJob] = field(default_factory=list)
    severities: tuple[str, ...] = DEFAULT_SEVERITIES
    peers: dict[str, Component] = field(default_factory=dict)

    def url(self, name: str) -> str:
        """A peer component's base URL."""
        return self.peers[name].url


class Component(ABC):
    """One process of the embedded runtime."""

    name: str = ""
    depends_on: tuple[str, ...] = ()
    ready_timeout: float = 30.0

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", external: bool = False
    ) -> None:
        self.port = port or free_port()
        self.host = host
        # External: somebody else runs it (a staging Prometheus, a sidecar); we only check it.
        self.external = external

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://{self.address}"

    @property
    def ports(self) -> dict[str, int]:
        """Every port the component listens on, by role."""
        return {"main": self.port}

    @property
    def kube(self) -> tuple[str, str, str] | None:
        """(namespace, pod, container) if its restarts are reported as a pod's; most are not."""
        return None

    @abstractmethod
    def prepare(self, ctx: RunContext) -> Launch:
        """Write configuration and data folders (idempotently) and say what to run."""

    @abstractmethod
    def ready(self) -> bool:
        """One readiness probe; never raises."""

    def cleanup(self, ctx: RunContext) -> None:
        """Remove what the component keeps outside the run folder (after it stopped)."""
        return  # most components keep everything inside the run folder


def http_ok(url: str) -> bool:
    """Whether ``GET url`` answers 200 within a second."""
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
