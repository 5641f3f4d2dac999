"""promtool, the real one: ``check rules`` and ``test rules``, each call with a timeout.

The runner is a constructor argument so tests can hand in a recording runner; the default is
``subprocess.run``. A missing binary is a ToolNotFound carrying the install command.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sloverify._exceptions import ToolFailed, ToolNotFound
from sloverify.rules.proofs import AlertProof

INSTALL_PROMTOOL = "ci/bootstrap (or: apt-get install prometheus)"
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class ProofResult:
    """The outcome of one alert's promtool tests."""

    proof: AlertProof
    passed: bool
    output: str


class Promtool:
    """Runs promtool; one instance per binary."""

    def __init__(
        self, binary: str = "promtool", runner: Runner = subprocess.run, timeout: float = 300
    ) -> None:
        self._binary = binary
        self._run = runner
        self._timeout = timeout

    def _exec(
        self, args: Sequence[str], cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        path = shutil.which(self._binary)
        if path is None:
            raise ToolNotFound("promtool", INSTALL_PROMTOOL)
        command = [path, *args]
        try:
            return self._run(
                command, cwd=cwd, capture_output=True, text=True, timeout=self._timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolFailed(command, f"timed out after {self._timeout}s") from exc
        except OSError as exc:
            raise ToolFailed(command, str(exc)) from exc

    def version(self) -> str:
        """promtool's version line."""
        return self._exec(["--version"]).stdout.splitlines()[0]

    def check_rules(self, path: Path) -> tuple[bool, str]:
        """``promtool check rules``: (passed, output)."""
        proc = self._exec(["check", "rules", str(path)])
        return proc.returncode == 0, (proc.stdout + proc.stderr).strip()

    def test_rules(self, directory: Path, test_file: str) -> tuple[bool, str]:
        """``promtool test rules`` on one test file, run in its directory."""
        proc = self._exec(["test", "rules", test_file], cwd=directory)
        return proc.returncode == 0, (proc.stdout + proc.stderr).strip()

    def run_proofs(
        self,
        proofs: Sequence[AlertProof],
        directory: Path,
        workers: int = 2,
        on_result: Callable[[ProofResult], None] | None = None,
    ) -> list[ProofResult]:
        """Write every proof's files into ``directory`` and run them, ``workers`` at a time."""
        directory.mkdir(parents=True, exist_ok=True)
        for p in proofs:
            (directory / p.rules_name).write_text(p.rules_text, encoding="utf-8")
            (directory / p.test_name).write_text(p.test_text, encoding="utf-8")

        def one(p: AlertProof) -> ProofResult:
            ok, out = self.test_rules(directory, p.test_name)
            result = ProofResult(p, ok, out)
            if on_result is not None:
                on_result(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(one, proofs))
