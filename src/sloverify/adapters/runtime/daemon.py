"""The background controller behind ``sloverify up``: supervises a run until ``sloverify down``.

Run as ``python -m sloverify.adapters.runtime.daemon --run-dir DIR [...]``. It writes the
run's state file as components come up; ``up`` reads it and returns once all are ready.
SIGTERM (from ``down``) stops every component in reverse order.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from fractions import Fraction
from pathlib import Path

from sloverify._exceptions import SloverifyError
from sloverify.adapters.runtime.components import KINDS, RunContext, core_components
from sloverify.adapters.runtime.containers import ContainerDependencies
from sloverify.adapters.runtime.registry import RunDir, RunState
from sloverify.adapters.runtime.stackrun import stack_run_components
from sloverify.adapters.runtime.supervisor import Supervisor
from sloverify.adapters.tools import Tools
from sloverify.spec.stack import load_stack


def main(argv: list[str] | None = None) -> int:
    """Supervise until SIGTERM; exit 3 if a component fails to start."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--time-scale", default="1")
    parser.add_argument("--rules", type=Path, action="append", default=[])
    parser.add_argument("--only", action="append", default=[], choices=sorted(KINDS))
    parser.add_argument("--external", action="append", default=[], metavar="NAME=URL")
    parser.add_argument("--backend", choices=["embedded", "docker"], default="embedded")
    parser.add_argument("--severity", action="append", default=[], help="route this severity too")
    parser.add_argument("--stack", type=Path, action="append", default=[], help="a stack.yaml")
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    external = dict(e.split("=", 1) for e in args.external)
    ctx = RunContext(run, Tools.load(), Fraction(args.time_scale), rule_files=list(args.rules))
    # One Alertmanager route per severity the specs use, besides the usual ones.
    ctx.severities = tuple(dict.fromkeys([*ctx.severities, *args.severity]))
    containers = ContainerDependencies(run.id)
    try:
        if args.backend == "docker":
            external.update({c.name: c.url for c in containers.start()})
        stacks = [load_stack(p) for p in args.stack]
        every = stack_run_components(ctx, stacks, external) if stacks else core_components(external)
        components = [c for c in every if not args.only or c.name in args.only]
        with containers, Supervisor(ctx, components):
            print(f"run {run.id} ready", flush=True)
            while True:
                signal.pause()
    except SloverifyError as exc:
        _fail(run, args.time_scale, str(exc))
        return 3
    except SystemExit as exc:  # SIGTERM: the with block has stopped everything
        return 0 if exc.code in (None, 128 + signal.SIGTERM) else int(str(exc.code))
    except Exception:
        _fail(run, args.time_scale, traceback.format_exc())
        return 3


def _fail(run: RunDir, scale: str, message: str) -> None:
    # Keep the per-component state the supervisor wrote; only make sure the error is there.
    state = run.read_state() or RunState(run.id, 0.0, scale)
    state.ready, state.error = False, message
    run.write_state(state)
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
