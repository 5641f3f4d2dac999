"""Generated promtool proofs catch wrong rules: a threshold set too high never fires, too low fires."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sloverify.adapters.promtool import Promtool
from sloverify.rules.proofs import AlertProof, proof_interval, prove_spec
from sloverify.spec import load_spec
from tests.conftest import DATA, SLOTH_EXAMPLE, STACKS


def _proof(spec: Path, alert: str) -> AlertProof:
    proofs, _ = prove_spec(load_spec(spec).spec, spec.stem)
    return next(p for p in proofs if p.alert.name == alert)


def _run(proof: AlertProof, tmp_path: Path) -> tuple[bool, str]:
    [result] = Promtool().run_proofs([proof], tmp_path)
    return result.passed, result.output


@pytest.mark.usefixtures("promtool")
def test_untampered_proof_passes(tmp_path: Path) -> None:
    ok, output = _run(
        _proof(STACKS / "maestro" / "slo-platform.yaml", "MaestroDatabaseAvailabilityCritical"),
        tmp_path,
    )
    assert ok, output


@pytest.mark.usefixtures("promtool")
@pytest.mark.parametrize(
    ("factor", "fails_because"), [("20", "fires just above"), ("10", "stays silent just below")]
)
def test_tampered_threshold_fails_its_proof(
    tmp_path: Path, factor: str, fails_because: str
) -> None:
    proof = _proof(STACKS / "maestro" / "slo-platform.yaml", "MaestroDatabaseAvailabilityCritical")
    assert "(14.4 * 0.001)" in proof.rules_text
    broken = replace(
        proof, rules_text=proof.rules_text.replace("(14.4 * 0.001)", f"({factor} * 0.001)")
    )
    ok, output = _run(broken, tmp_path)
    assert not ok
    assert fails_because in output


@pytest.mark.usefixtures("promtool")
def test_tampered_for_fails_its_proof(tmp_path: Path) -> None:
    # Firing 5m later than the spec says is caught by the "firing within one interval" check.
    proof = _proof(STACKS / "ca3" / "slo.yaml", "ProcessorAvailabilityBurnRateHigh")
    assert "for: 5m" in proof.rules_text
    ok, output = _run(
        replace(proof, rules_text=proof.rules_text.replace("for: 5m", "for: 10m")), tmp_path
    )
    assert not ok and "fires just above" in output


def test_each_alert_gets_its_own_rule_file_with_only_itself() -> None:
    proofs, unproven = prove_spec(load_spec(SLOTH_EXAMPLE).spec, "sloth")
    assert unproven == ()
    assert [p.alert.severity for p in proofs] == ["page", "ticket"]
    for p in proofs:
        assert p.rules_text.count("- alert: MyServiceHighErrorRate") == 1
        assert "group_eval_order" in p.test_text


def test_interval_divides_for_and_resolves_the_shortest_window() -> None:
    proofs, _ = prove_spec(load_spec(STACKS / "ca3" / "slo.yaml").spec, "ca3")
    for p in proofs:
        assert p.alert.for_.ms % p.interval.ms == 0
        assert min(p.alert.windows).ms / p.interval.ms >= 5
    assert {str(proof_interval(p.alert)) for p in proofs} >= {"5s", "1m"}


def test_one_impossible_alert_does_not_stop_the_others(tmp_path: Path) -> None:
    text = (DATA / "specs" / "impossible-burn.yaml").read_text()
    text += """        - kind: burn_rate
          name: CanFire
          windows: [{long: 1h, short: 5m, factor: 14.4}]
"""
    spec = tmp_path / "mixed.yaml"
    spec.write_text(text)
    proofs, unproven = prove_spec(load_spec(spec).spec, "mixed")
    assert [p.alert.name for p in proofs] == ["CanFire"]
    assert [u.label for u in unproven] == ["availability/CannotFire[page]"]
    assert "cannot be exceeded" in unproven[0].reason
