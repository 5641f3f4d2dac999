"""The malformed-file corpora's one check: each file names, on its first line, where it breaks.

A corpus file starts with ``# expect: line=<N> contains=<text>``; loading it must raise a
located error (exit 2) whose first problem is at that line of that file and says that text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sloverify._exceptions import SpecError, SpecErrors

HEADER = re.compile(r"^# expect: line=(\d+) contains=(.+)$")


def corpus(folder: Path) -> list[Path]:
    """The corpus files of ``folder``, in a stable order."""
    return sorted(folder.glob("*.yaml"))


def assert_rejected_as_it_says(path: Path, load: Callable[[Path], object]) -> None:
    """``load(path)`` fails with a located error at the line and with the text the header says."""
    match = HEADER.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name}: first line must be '# expect: line=<N> contains=<text>'"
    line, contains = int(match.group(1)), match.group(2)
    with pytest.raises((SpecError, SpecErrors)) as info:
        load(path)
    exc = info.value
    assert exc.exit_code == 2
    first = exc.errors[0] if isinstance(exc, SpecErrors) else exc
    assert first.location.path == path
    assert first.location.line == line, str(exc)
    assert contains in str(first), str(exc)
