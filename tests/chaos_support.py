"""Helpers for the chaos tests: plans from the shipped experiments, runs against the simulation."""

from __future__ import annotations

from pathlib import Path

from sloverify.adapters.simulation import SimulatedStack, simulated_ports
from sloverify.engine.events import Event
from sloverify.engine.run import run_experiment
from sloverify.spec import load_spec
from sloverify.spec.experiment_loader import load_experiment_text
from sloverify.verdicts.model import Status
from sloverify.verdicts.plan import Plan, build_plan
from tests.conftest import ROOT

MAESTRO_API = ROOT / "stacks" / "maestro" / "slo-api.yaml"
FAST_BURN = ROOT / "chaos" / "maestro" / "availability-fast-burn.yaml"
BELOW = ROOT / "chaos" / "maestro" / "availability-below-threshold.yaml"


def plan_of(path: Path, replace: tuple[tuple[str, str], ...] = ()) -> Plan:
    """The plan of an experiment file, with text substitutions (to write a variant)."""
    text = path.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    loaded = load_experiment_text(text, path)
    return build_plan(loaded, [load_spec(MAESTRO_API)])


def run_sim(
    plan: Plan, sim: SimulatedStack | None = None
) -> tuple[Status, list[Event], SimulatedStack]:
    """Run a plan against a simulated stack; its status, events and the stack."""
    sim = sim or SimulatedStack(plan)
    events: list[Event] = []
    status = run_experiment(plan, simulated_ports(sim), events.append)
    return status, events, sim
