"""Duration parsing, Prometheus rendering and time scaling."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloverify.spec import Duration, DurationError

_S = 1000
_M = 60 * _S
_H = 60 * _M
_D = 24 * _H


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("5m", 300 * _S),
        ("300s", 300 * _S),
        ("1h30m", 90 * _M),
        ("30d", 30 * _D),
        ("250ms", 250),
        ("1w", 7 * _D),
        ("1y", 365 * _D),
        ("1h1ms", _H + 1),
        ("2d3h4m5s6ms", 2 * _D + 3 * _H + 4 * _M + 5 * _S + 6),
        (" 5m ", 300 * _S),
    ],
)
def test_parse_examples(text: str, ms: int) -> None:
    assert Duration.parse(text) == Duration(Fraction(ms))


def test_five_minutes_is_three_hundred_seconds() -> None:
    assert Duration.parse("5m") == Duration.parse("300s")
    assert Duration.parse("5m").seconds == 300.0


@pytest.mark.parametrize(
    "text",
    ["", "   ", "5", "m5", "5x", "1m1h", "5m5m", "1ms1s", "1.5h", "-5m", "5 m", "5m 3s", "5M"],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(DurationError):
        Duration.parse(text)


def test_order_error_names_the_problem() -> None:
    with pytest.raises(DurationError, match="out of order"):
        Duration.parse("1m1h")


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (300 * _S, "5m"),
        (90 * _M, "1h30m"),
        (30 * _D, "30d"),
        (250, "250ms"),
        (7 * _D, "7d"),
        (_H + 1, "1h1ms"),
        (0, "0s"),
    ],
)
def test_prometheus_rendering(ms: int, text: str) -> None:
    assert Duration(Fraction(ms)).prometheus() == text


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=10**12))
def test_rendering_round_trips(ms: int) -> None:
    d = Duration(Fraction(ms))
    assert Duration.parse(d.prometheus()) == d


_positive_durations = st.integers(min_value=1, max_value=10**11).map(
    lambda ms: Duration(Fraction(ms))
)
_scales = st.one_of(
    st.integers(min_value=1, max_value=10**6).map(Fraction),
    st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(10**6), max_denominator=10**4),
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False),
)


@settings(deadline=None)
@given(_positive_durations, _scales)
def test_scaled_rendering_is_positive_and_rounds_up(d: Duration, k: Fraction | float) -> None:
    scaled = d / k
    assert scaled.ms > 0
    text = scaled.prometheus()
    assert text != "0s"
    rendered = Duration.parse(text)
    # Prometheus takes whole milliseconds: the rendering is the true value rounded up.
    assert rendered.ms >= scaled.ms
    assert rendered.ms == math.ceil(scaled.ms)
    assert rendered.ms >= 1


@settings(deadline=None)
@given(_positive_durations, _scales)
def test_scaling_multiplication_and_division_invert(d: Duration, k: Fraction | float) -> None:
    assert (d / k) * k == d


def test_scaling_below_a_millisecond_rounds_up_to_one() -> None:
    assert (Duration.parse("5m") / 1_000_000).prometheus() == "1ms"
    assert (Duration.parse("5m") / 60).prometheus() == "5s"
    assert (Duration.parse("1h") / 7).prometheus() == "8m34s286ms"
