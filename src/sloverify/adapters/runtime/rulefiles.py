"""The rule files a run loads: every spec's rules at the run's time scale, and their severities."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from sloverify.adapters.promql import GoInspector
from sloverify.rules.generate import AlertingRule, RuleOptions, generate
from sloverify.rules.loading import load_all, output_stems
from sloverify.rules.render import rule_file


def write_rules(specs: list[Path], scale: Fraction, folder: Path) -> tuple[list[Path], set[str]]:
    """Write one rule file per spec into ``folder``; the files and every severity they route by."""
    if not specs:
        return [], set()
    loaded = load_all(specs, GoInspector())
    folder.mkdir(parents=True, exist_ok=True)
    paths, severities = [], set()
    for ls, stem in zip(loaded.specs, output_stems(loaded.specs), strict=True):
        groups = [g for r in generate(ls.spec, RuleOptions(scale=scale)) for g in r.groups]
        severities |= {
            rule.labels["severity"]
            for g in groups
            for rule in g.rules
            if isinstance(rule, AlertingRule) and "severity" in rule.labels
        }
        path = folder / f"{stem}.yml"
        path.write_text(
            rule_file(groups, f"from {ls.path} at time scale {scale}"), encoding="utf-8"
        )
        paths.append(path)
    return paths, severities
