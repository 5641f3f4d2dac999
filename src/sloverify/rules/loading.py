"""Load and validate specs for a command: every file's errors together, then their PromQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sloverify._exceptions import InputError, SpecError, SpecErrors
from sloverify.rules.queries import PromQLInspector, QueryFacts, inspect_spec
from sloverify.spec import FieldPath, LoadedSpec, load_spec


@dataclass(frozen=True)
class Loaded:
    """Validated specs and the parser's facts about their queries, keyed by file path."""

    specs: tuple[LoadedSpec, ...]
    facts: Mapping[str, Mapping[FieldPath, QueryFacts]]


def load_all(paths: Sequence[Path], inspector: PromQLInspector) -> Loaded:
    """Load every spec; report every file's errors at once (exit 2) before doing anything."""
    specs: list[LoadedSpec] = []
    errors: list[SpecError] = []
    for path in paths:
        try:
            specs.append(load_spec(path))
        except SpecErrors as exc:
            errors.extend(exc.errors)
        except SpecError as exc:
            errors.append(exc)
    facts: dict[str, Mapping[FieldPath, QueryFacts]] = {}
    for loaded in specs:
        try:
            facts[str(loaded.path)] = inspect_spec(loaded, inspector)
        except SpecErrors as exc:
            errors.extend(exc.errors)
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise SpecErrors.of(errors)
    if not specs:
        raise InputError("no spec files given")
    return Loaded(tuple(specs), facts)


def output_stems(specs: Sequence[LoadedSpec]) -> list[str]:
    """A distinct file stem per spec: ``<folder>-<file>`` (``maestro-slo-api``)."""
    stems: list[str] = []
    for loaded in specs:
        stem = f"{loaded.path.parent.name}-{loaded.path.stem}".strip("-.") or loaded.spec.service
        candidate, n = stem, 2
        while candidate in stems:
            candidate, n = f"{stem}-{n}", n + 1
        stems.append(candidate)
    return stems
