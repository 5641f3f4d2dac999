"""Render rule groups and promtool test files as YAML text (multi-line PromQL as literal blocks)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from sloverify.rules.generate import AlertingRule, RecordingRule, RuleGroup

Yamlable = str | int | float | bool | None | Sequence["Yamlable"] | Mapping[str, "Yamlable"]


def rule_file(groups: Iterable[RuleGroup], header: str) -> str:
    """A Prometheus rule file holding ``groups``, headed by a comment."""
    doc = {"groups": [_group(g) for g in groups]}
    return "".join(f"# {line}\n" for line in header.splitlines()) + dump(doc)


def dump(doc: Mapping[str, Yamlable]) -> str:
    """Dump a document as block-style YAML, keeping key order."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(_literal(doc), out)
    return out.getvalue()


def _group(g: RuleGroup) -> dict[str, Yamlable]:
    return {
        "name": g.name,
        "interval": g.interval.prometheus(),
        "rules": [_rule(r) for r in g.rules],
    }


def _rule(r: RecordingRule | AlertingRule) -> dict[str, Yamlable]:
    if isinstance(r, RecordingRule):
        out: dict[str, Yamlable] = {"record": r.record, "expr": r.expr}
        if r.labels:
            out["labels"] = dict(r.labels)
        return out
    out = {"alert": r.alert, "expr": r.expr}
    if r.for_:
        out["for"] = r.for_.prometheus()
    out["labels"] = dict(r.labels)
    if r.annotations:
        out["annotations"] = dict(r.annotations)
    return out


def _literal(node: Yamlable) -> object:
    if isinstance(node, str) and "\n" in node:
        return LiteralScalarString(node)
    if isinstance(node, Mapping):
        return {k: _literal(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_literal(v) for v in node]
    return node
