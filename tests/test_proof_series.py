"""promtool's expanding series notation, as written by rules.proof_series.notation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloverify.rules.proof_series import notation

_NUMBER = r"-?\d+(?:\.\d+)?"
_RUN = re.compile(rf"({_NUMBER})([+-])({_NUMBER})x(\d+)")
_BARE = re.compile(_NUMBER)


def expand(text: str) -> list[float]:
    """promtool's semantics: ``a+bxn`` is the n+1 values a, a+b, ..., a+n*b; ``a`` is a."""
    values: list[float] = []
    for token in text.split():
        run = _RUN.fullmatch(token)
        if run is not None:
            start, sign, step, count = run.groups()
            delta = float(step) if sign == "+" else -float(step)
            values.extend(float(start) + i * delta for i in range(int(count) + 1))
        else:
            assert _BARE.fullmatch(token), f"not promtool notation: {token!r}"
            values.append(float(token))
    return values


def test_expander_follows_promtool_examples() -> None:
    assert expand("1+2x3") == [1, 3, 5, 7]
    assert expand("5-1x2 7") == [5, 4, 3, 7]
    assert expand("0.5+0x1") == [0.5, 0.5]


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ([1.0], "1"),
        ([1.0, 2.0], "1+1x1"),
        ([0.0, 0.0, 0.0, 0.0], "0+0x3"),
        ([10.0, 8.0, 6.0, 1.0], "10-2x2 1"),
        ([1.5, 2.0, 2.5], "1.5+0.5x2"),
        ([-1.0, -3.0], "-1-2x1"),
    ],
)
def test_notation_examples(values: list[float], text: str) -> None:
    assert notation(values) == text
    assert expand(text) == values


_halves = st.integers(min_value=-(2 * 10**6), max_value=2 * 10**6).map(lambda n: n / 2)
_run = st.builds(
    lambda start, step, n: [start + i * step for i in range(n)],
    _halves,
    st.integers(min_value=-20, max_value=20).map(lambda n: n / 2),
    st.integers(min_value=1, max_value=60),
)
_runs = st.lists(_run, min_size=1, max_size=10).map(lambda rs: [v for r in rs for v in r][:200])
_series = st.one_of(st.lists(_halves, min_size=1, max_size=200), _runs)


@settings(deadline=None)
@given(_series)
def test_notation_expands_back_to_the_values(values: list[float]) -> None:
    text = notation(values)
    assert expand(text) == pytest.approx(values, rel=1e-9, abs=1e-9)


@settings(deadline=None)
@given(_runs)
def test_notation_compresses_runs(values: list[float]) -> None:
    # Greedy runs: never more tokens than half the values, rounded up.
    assert len(notation(values).split()) <= (len(values) + 1) // 2
