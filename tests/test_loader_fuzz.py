"""Fuzz the loader: whatever the input, it returns a spec or raises located SpecErrors.

Anything else (a KeyError, a ruamel or pydantic exception leaking out) is a bug: foreign errors
must be translated where they enter.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sloverify._exceptions import SpecError, SpecErrors
from sloverify.spec import LoadedSpec, load_spec_text

PATH = Path("fuzz.yaml")

VALID: dict[str, Any] = {
    "version": "sloverify/v1",
    "service": "api",
    "labels": {"team": "core"},
    "document": "docs/slo.md",
    "endpoints": ["GET /runs", "POST /runs", "GET /runs/{id}"],
    "slos": [
        {
            "name": "availability",
            "objective": 99.9,
            "description": "non-5xx responses",
            "period": "30d",
            "labels": {"tier": "1"},
            "sli": {
                "events": {
                    "error_query": 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
                    "total_query": "sum(rate(http_requests_total[{{.window}}]))",
                },
                "exporter": "starlette_exporter",
            },
            "alerting": {
                "name": "ApiAvailability",
                "labels": {"team": "core"},
                "annotations": {"summary": "errors"},
                "alerts": [
                    {
                        "kind": "burn_rate",
                        "name": "ApiFastBurn",
                        "severity": "page",
                        "for": "2m",
                        "windows": [
                            {"long": "1h", "short": "5m", "factor": 14.4},
                            {"long": "6h", "short": "30m", "factor": 6},
                        ],
                    },
                    {"kind": "budget_consumed", "name": "ApiBudgetHalf", "percent": 50},
                    {
                        "kind": "threshold",
                        "name": "ApiErrors",
                        "target": "error_ratio",
                        "window": "5m",
                        "op": ">",
                        "value": 0.05,
                    },
                ],
            },
            "stated": {"error_budget_percent": 0.1, "budget_minutes_per_period": 43.2},
            "scope": {"endpoints": ["GET /runs", "GET /runs/{id}"], "path_label": "path"},
        },
        {
            "name": "latency",
            "objective": 99,
            "sli": {
                "latency": {
                    "histogram": "http_request_duration_seconds",
                    "selector": '{service="api"}',
                    "threshold": 0.25,
                    "buckets": [0.1, 0.25, 0.5, 1],
                }
            },
            "alerting": {"page_alert": {"disable": True}, "ticket_alert": {"labels": {"a": "b"}}},
        },
        {
            "name": "p95-slices",
            "objective": 95,
            "period": "7d",
            "sli": {
                "time_slices": {
                    "query": "histogram_quantile(0.95, rate(x_bucket[{{.window}}]))",
                    "good_when": "<",
                    "threshold": 0.3,
                    "slice": "5m",
                }
            },
        },
    ],
}

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["", "5m", "0s", "1h30m", "30days", "GET /x", "{}", "<", "burn_rate", "100"]),
)
KEYS = st.one_of(st.text(max_size=12), st.integers(-3, 3))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)
YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{}\"'!&*|>%@`,?# \n\tab01.")), max_size=80)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _mutate(root: Any, data: st.DataObject) -> Any:
    """Apply one random mutation; return the (possibly replaced) root."""
    path = data.draw(st.sampled_from(_paths(root)))
    op = data.draw(st.sampled_from(["delete", "rename", "replace", "insert"]))
    node = _at(root, path)
    if op == "insert" and isinstance(node, dict):
        node[data.draw(KEYS)] = data.draw(VALUES)
        return root
    if not path:
        return data.draw(VALUES) if op == "replace" else root
    parent, key = _at(root, path[:-1]), path[-1]
    if op == "delete":
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        name = str(key)
        new = data.draw(st.one_of(KEYS, st.sampled_from([name[:-1], name + "s", name.upper()])))
        parent[new] = parent.pop(key)
    else:
        parent[key] = data.draw(VALUES)
    return root


def _check(text: str) -> None:
    try:
        loaded = load_spec_text(text, PATH)
    except SpecErrors as exc:
        errors = exc.errors
        assert errors
        assert exc.exit_code == 2
    except SpecError as exc:
        errors = [exc]
    else:
        assert isinstance(loaded, LoadedSpec)
        return
    for error in errors:
        assert error.exit_code == 2
        assert error.location.path == PATH
        assert error.location.line is None or error.location.line >= 1
        assert str(error)


# Inputs that once escaped as foreign exceptions (RecursionError, KeyError, TypeError).
CRASHERS = {
    "deep_flow_sequence": "[" * 3000 + "]" * 3000,
    "deep_flow_mapping": "a: " + "{b: " * 3000 + "1" + "}" * 3000,
    "alias_inside_itself": "&x {a: *x}\n",
    "merge_key": "base: &b {version: sloverify/v1, service: api}\n<<: *b\nslos: []\n",
    "omap": "version: sloverify/v1\nservice: !!omap [{a: 1}]\n",
    "alias_bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "nul_character": "version: \x00\n",
    "two_documents": "a: 1\n---\nb: 2\n",
}


@pytest.mark.parametrize("text", list(CRASHERS.values()), ids=list(CRASHERS))
def test_hostile_yaml_raises_a_spec_error(text: str) -> None:
    with pytest.raises((SpecError, SpecErrors)):
        load_spec_text(text, PATH)
    _check(text)


def test_the_fuzz_base_spec_is_valid() -> None:
    loaded = load_spec_text(yaml.safe_dump(VALID, sort_keys=False), PATH)
    assert [slo.name for slo in loaded.spec.slos] == ["availability", "latency", "p95-slices"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), YAMLISH))
def test_arbitrary_text_loads_or_raises_a_spec_error(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_spec_loads_or_raises_a_spec_error(data: st.DataObject) -> None:
    spec = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        spec = _mutate(spec, data)
    _check(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
