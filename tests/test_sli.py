"""Time scaling of query ranges, literal ranges and bucket-bound regexes in rules.sli."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloverify.rules.sli import fixed_ranges, le_regex, scale_ranges
from sloverify.spec import Duration

_D = Duration.parse
_SIXTY = Fraction(60)


@pytest.mark.parametrize(
    ("query", "scaled"),
    [
        ("rate(x[5m])", "rate(x[5s])"),
        ("rate(x[ 5m ])", "rate(x[5s])"),
        ("max_over_time(rate(x[5m])[1h:1m])", "max_over_time(rate(x[5s])[1m:1s])"),
        ("max_over_time(x[1h:])", "max_over_time(x[1m:])"),
        ("rate(x[5m] offset 1h)", "rate(x[5s] offset 1m)"),
        ("rate(x[5m] offset -1h)", "rate(x[5s] offset -1m)"),
        ("rate(x[5m] OFFSET 1h)", "rate(x[5s] OFFSET 1m)"),
        ("my_offset{a='b'} offset 5m", "my_offset{a='b'} offset 5s"),
        ("rate(x[1h30m])", "rate(x[1m30s])"),
        ("rate(x[1s])", "rate(x[17ms])"),
        (
            'rate(http_requests_total{path=~"[0-9]+[5m]"}[5m])',
            'rate(http_requests_total{path=~"[0-9]+[5m]"}[5s])',
        ),
        ("rate(x{a='[1h]', b=`[1h] offset 1h`}[1h])", "rate(x{a='[1h]', b=`[1h] offset 1h`}[1m])"),
        ('rate(x{a="esc\\"[5m]"}[5m])', 'rate(x{a="esc\\"[5m]"}[5s])'),
    ],
)
def test_scale_ranges_by_sixty(query: str, scaled: str) -> None:
    assert scale_ranges(query, _SIXTY) == scaled


@pytest.mark.parametrize(
    "query",
    [
        "rate(x[5m])",
        "max_over_time(rate(x[5m])[1h:1m] offset 1h)",
        'rate(http_requests_total{path=~"[0-9]+[5m]"}[5m])',
    ],
)
def test_scale_ranges_identity_at_one(query: str) -> None:
    assert scale_ranges(query, Fraction(1)) == query


_durations = st.integers(min_value=1, max_value=10**10).map(lambda ms: Duration(Fraction(ms)))
_scales = st.fractions(min_value=Fraction(1, 10), max_value=Fraction(10**5), max_denominator=1000)


@settings(deadline=None)
@given(_durations, _durations, _scales)
def test_scaled_ranges_are_the_ranges_divided_and_rounded_up(
    rng: Duration, offset: Duration, k: Fraction
) -> None:
    query = f'sum(rate(x{{path=~"[0-9]+[{rng}]"}}[{rng}] offset {offset}))'
    scaled = scale_ranges(query, k)
    assert f'path=~"[0-9]+[{rng}]"' in scaled
    assert fixed_ranges(scaled) == [Duration(Fraction(math.ceil(rng.ms / k)))]
    match = re.search(r"offset (\S+)\)\)$", scaled)
    assert match is not None
    assert _D(match.group(1)) == Duration(Fraction(math.ceil(offset.ms / k)))


def test_fixed_ranges_outside_strings() -> None:
    query = "rate(x{p=~\"[5m]\", q='[2h]'}[5m]) / max_over_time(rate(y[1h])[1d:5m])"
    assert fixed_ranges(query) == [_D("5m"), _D("1h"), _D("1d")]


def test_fixed_ranges_none_in_a_windowed_template() -> None:
    assert fixed_ranges('rate(x{p=~"[0-9]+[5m]"}[{{.window}}])') == []


def _promql_to_python(regex: str) -> str:
    # The regex sits in a PromQL double-quoted string, where a backslash is written twice.
    return regex.replace("\\\\", "\\")


@pytest.mark.parametrize(
    ("bound", "matches", "rejects"),
    [
        (0.3, ["0.3", "0.30", "0.300"], ["0.35", "0.03", "0x3", "10.3", "0.3e0", ""]),
        (1.0, ["1", "1.0", "1.00"], ["10", "1.01", "0.1", "11", "1x0"]),
        (0.25, ["0.25", "0.250"], ["0.2", "0.251", "0x25"]),
        (10.0, ["10", "10.0"], ["1", "100", "10.5"]),
        (2.5, ["2.5", "2.50"], ["2.55", "25"]),
    ],
)
def test_le_regex(bound: float, matches: list[str], rejects: list[str]) -> None:
    pattern = re.compile(_promql_to_python(le_regex(bound)))
    for text in matches:
        assert pattern.fullmatch(text), (bound, text)
    for text in rejects:
        assert not pattern.fullmatch(text), (bound, text)


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=999_999), st.integers(min_value=0, max_value=4))
def test_le_regex_matches_go_and_python_renderings(mantissa: int, places: int) -> None:
    bound = mantissa / 10**places
    pattern = re.compile(_promql_to_python(le_regex(bound)))
    # In [1e-4, 1e6) Go's shortest 'g' formatting (client_golang) is Python's repr without a
    # trailing ".0": "1", "0.3" from Go, "1.0", "0.3" from Python. From 1e6 up Go (and
    # prometheus_client's floatToGoString) switch to exponents ("1e+06"), which le_regex does not
    # cover.
    go = repr(bound)[:-2] if repr(bound).endswith(".0") else repr(bound)
    assert pattern.fullmatch(repr(bound))
    assert pattern.fullmatch(go)
    assert not pattern.fullmatch(go + "1")
