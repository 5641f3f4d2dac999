"""The traffic tests' tiny HTTP service (tests/data/traffic/tinysvc.py) and its own counts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sloverify._exceptions import ToolNotFound
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.tools import Tool, Tools
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "traffic"


@dataclass(frozen=True)
class TinyService:
    """A running tiny service."""

    url: str

    def handled(self, path: str | None = None) -> int:
        """Requests the service itself counted (its tiny_requests_total), for one path or all."""
        text = httpx.get(f"{self.url}/metrics", timeout=5.0, trust_env=False).text
        total = 0
        for line in text.splitlines():
            if line.startswith("tiny_requests_total{") and (
                path is None or f'path="{path}"' in line
            ):
                total += int(float(line.rsplit(" ", 1)[1]))
        return total


@contextlib.contextmanager
def tiny_service(log_dir: Path) -> Iterator[TinyService]:
    """Start the tiny service on a free port; stop it at the end, whatever happens."""
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    with (log_dir / "tinysvc.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(DATA / "tinysvc.py")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=0.5, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(
                    f"the tiny service did not start: {(log_dir / 'tinysvc.log').read_text()}"
                )
            time.sleep(0.05)
        yield TinyService(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def tools_with_locust() -> Tools:
    """The tool manifest; fails the test (never skips) when locust's venv is missing."""
    tools = Tools.load()
    try:
        tools.get(Tool.LOCUST)
    except ToolNotFound as exc:
        pytest.fail(f"{exc}: run ci/bootstrap (it installs locust 2.47.0 into its own venv)")
    return tools
