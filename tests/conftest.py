"""Shared fixtures: repository paths, the CLI as a subprocess, and the real tools' presence."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STACKS = ROOT / "stacks"
DATA = Path(__file__).resolve().parent / "data"
# Relative to ROOT, as a user types them (the CLI runs from ROOT).
DOCUMENT_SPECS = sorted(p.relative_to(ROOT) for p in STACKS.glob("*/slo*.yaml"))
SLOTH_EXAMPLE = DATA / "sloth" / "getting-started.yml"
BOOTSTRAP = "run ci/bootstrap (it installs Debian's prometheus and builds promql-inspect)"


@dataclass(frozen=True)
class Result:
    """A finished CLI run."""

    code: int
    out: str
    err: str


def require(binary: str) -> str:
    """The path of a tool the tests need; fail (never skip) with how to install it."""
    found = shutil.which(binary) or (
        str(Path(sys.executable).parent / binary)
        if (Path(sys.executable).parent / binary).exists()
        else None
    )
    if found is None:
        pytest.fail(f"{binary} is not installed: {BOOTSTRAP}")
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return require("promtool")


@pytest.fixture(scope="session")
def inspector_binary() -> str:
    return require("sloverify-promql-inspect")


@pytest.fixture(scope="session")
def run_cli(promtool: str, inspector_binary: str) -> Callable[..., Result]:
    """Run ``sloverify ARGS`` as a user would, from the repository root."""

    def run(
        *args: str | Path,
        env: dict[str, str] | None = None,
        timeout: float = 600,
        input: str | None = None,
    ) -> Result:
        command: Sequence[str] = [sys.executable, "-m", "sloverify", *map(str, args)]
        full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        proc = subprocess.run(
            command,
            cwd=ROOT,
            env={**full_env, **(env or {})},
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
