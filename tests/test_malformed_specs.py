"""Every file in tests/data/malformed must fail to load with a located, readable error.

Each file's first line is ``# expect: line=<N> contains=<substring>``: the 1-based line the
(first) error must point at, and a substring of that error's text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec import load_spec

CORPUS = Path(__file__).parent / "data" / "malformed"
FILES = sorted(CORPUS.glob("*.yaml"))
HEADER = re.compile(r"^# expect: line=(\d+) contains=(.+)$")


def _expectation(path: Path) -> tuple[int, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = HEADER.match(first)
    assert match, f"{path.name}: first line must be '# expect: line=<N> contains=<text>'"
    return int(match.group(1)), match.group(2)


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 35


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_malformed_spec_is_rejected_with_a_located_error(path: Path) -> None:
    line, contains = _expectation(path)
    with pytest.raises((SpecError, SpecErrors)) as info:
        load_spec(path)
    exc = info.value
    assert exc.exit_code == 2
    first = exc.errors[0] if isinstance(exc, SpecErrors) else exc
    assert first.location.path == path
    assert first.location.line == line, str(exc)
    assert contains in str(first), str(exc)


def test_several_problems_are_raised_together_in_file_order() -> None:
    """SpecErrors.of: one problem alone is itself; several (nested too) come sorted by line."""
    one = SpecError(Location(Path("a.yaml"), 9), "late")
    assert SpecErrors.of([one]) is one
    early = SpecError(Location(Path("a.yaml"), 2), "early")
    middle = SpecError(Location(Path("a.yaml"), 5), "middle")
    got = SpecErrors.of([one, SpecErrors([middle, early])])
    assert isinstance(got, SpecErrors)
    assert [e.message for e in got.errors] == ["early", "middle", "late"]
    with pytest.raises(ValueError):
        SpecErrors.of([])
