"""Every file in tests/data/malformed must fail to load with a located, readable error.

Each file's first line is ``# expect: line=<N> contains=<substring>``: the 1-based line the
(first) error must point at, and a substring of that error's text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec import load_spec
from tests.malformed_support import assert_rejected_as_it_says, corpus

CORPUS = Path(__file__).parent / "data" / "malformed"
FILES = corpus(CORPUS)


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 35


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_malformed_spec_is_rejected_with_a_located_error(path: Path) -> None:
    assert_rejected_as_it_says(path, load_spec)


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
