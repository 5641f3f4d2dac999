"""Experiment files: the examples load, and every malformed one fails with a located error.

Each file in tests/data/malformed_experiments starts with ``# expect: line=<N> contains=<text>``.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from sloverify._exceptions import SpecError
from sloverify.spec.experiment import FaultKind, ResetPeerToxic, ToxicFault
from sloverify.spec.experiment_loader import load_experiment, load_experiment_text
from tests.conftest import ROOT
from tests.malformed_support import assert_rejected_as_it_says, corpus

CORPUS = Path(__file__).parent / "data" / "malformed_experiments"
FILES = corpus(CORPUS)
# chaos/gameday/ holds game-day plans (tests/test_gameday.py), not experiments.
EXAMPLES = sorted(p for p in (ROOT / "chaos").glob("*/*.yaml") if p.parent.name != "gameday")


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_malformed_experiment_is_rejected_with_a_located_error(path: Path) -> None:
    assert_rejected_as_it_says(path, load_experiment)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_shipped_experiment_loads(path: Path) -> None:
    loaded = load_experiment(path)
    assert loaded.experiment.stack == path.parent.name


def test_a_toxic_fault_is_typed_and_timed() -> None:
    loaded = load_experiment(ROOT / "chaos" / "maestro" / "availability-fast-burn.yaml")
    fault = loaded.experiment.faults[0]
    assert isinstance(fault, ToxicFault)
    assert fault.kind is FaultKind.TOXIC
    assert isinstance(fault.toxic, ResetPeerToxic)
    assert fault.end.seconds == 1200
    assert loaded.experiment.time_scale == Fraction(60)
    assert loaded.locate(("faults", 0, "toxicity")).line is not None


def test_an_experiment_in_the_wrong_stack_folder_is_located(tmp_path: Path) -> None:
    folder = tmp_path / "chaos" / "ca3"
    folder.mkdir(parents=True)
    text = (ROOT / "chaos" / "maestro" / "availability-fast-burn.yaml").read_text()
    with pytest.raises(SpecError, match="move it to chaos/maestro/"):
        load_experiment_text(text, folder / "x.yaml")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_experiment(tmp_path / "nope.yaml")
