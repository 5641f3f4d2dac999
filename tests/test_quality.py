"""The code's own standards, run as tests: ruff, the formatter, mypy strict, and the layering."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "src", "tests", "bench", "stacks", "scenarios", "synthetic"),
        ("ruff", "format", "--check", "src", "tests", "bench", "stacks", "scenarios", "synthetic"),
        ("mypy",),
        ("lint-imports",),
    ],
    ids=["ruff", "format", "mypy", "import-linter"],
)
def test_tool_is_clean(command: tuple[str, ...]) -> None:
    tool = BIN / command[0]
    assert tool.exists(), f"{command[0]} missing from the venv: run ci/bootstrap"
    proc = _run(str(tool), *command[1:])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_files_stay_small() -> None:
    # One idea per module: anything past ~400 lines wants splitting.
    big = {
        p.relative_to(ROOT).as_posix(): n
        for p in (ROOT / "src").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not big, big


def test_every_public_function_and_class_has_a_docstring() -> None:
    # ruff's D1 rules enforce this; the test proves the rule set is on.
    config = (ROOT / "pyproject.toml").read_text()
    assert '"D1"' in config
