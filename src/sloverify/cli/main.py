"""The ``sloverify`` command: the composition root, mapping outcomes to exit codes.

Exit codes: 0 all good; 1 a finding or proof failed; 2 bad input (nothing ran);
3 the harness could not decide (a tool missing or broken); 130 interrupted.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import traceback
from fractions import Fraction
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from sloverify import __version__
from sloverify._exceptions import HarnessError, InputError, SloverifyError, ToolFailed
from sloverify.adapters.promql import GoInspector
from sloverify.adapters.promtool import Promtool, ProofResult
from sloverify.adapters.runtime.components import KINDS
from sloverify.cli import chaos, gameday, runtime, traffic
from sloverify.cli.loading import Loaded, load_all, output_stems
from sloverify.reports.console import explain_table, lint_report, proof_line
from sloverify.rules.explain import explain as explain_rows
from sloverify.rules.generate import DEFAULT_EVALUATION_INTERVAL, RuleOptions, generate
from sloverify.rules.lint import LintContext, Severity, run_lint
from sloverify.rules.proofs import AlertProof, prove_spec
from sloverify.rules.render import rule_file
from sloverify.spec import Duration, DurationError

# Piped output (CI logs) gets a wide fixed width so tables do not fold every cell.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

SPECS = click.argument(
    "specs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
)


class ScaleType(click.ParamType[Fraction, object]):
    """A positive time-scale factor: 60, 1440, 0.5 or 3/2."""

    name = "K"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Fraction:
        """Parse the factor exactly."""
        try:
            k = Fraction(str(value))
        except (ValueError, ZeroDivisionError):
            self.fail(f"{value!r} is not a number (examples: 60, 1440, 0.5)", param, ctx)
        if k <= 0:
            self.fail(f"{value!r} must be greater than 0", param, ctx)
        return k


class DurationType(click.ParamType[Duration, object]):
    """A Prometheus duration such as 30s or 1m."""

    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Duration:
        """Parse the duration."""
        try:
            d = Duration.parse(str(value))
        except DurationError as exc:
            self.fail(str(exc), param, ctx)
        if not d:
            self.fail("must be longer than 0s", param, ctx)
        return d


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sloverify")
def cli() -> None:
    """Prove that SLO alerts fire, stay silent and resolve as the SLO spec says.

    \b
    Offline, from a spec alone:
      sloverify lint stacks/*/slo*.yaml         what is wrong with the documents
      sloverify explain stacks/ca3/slo.yaml     detection and reset time of every alert
      sloverify rules SPEC... -o out/rules      Prometheus rules (--time-scale K for live runs)
      sloverify test-rules stacks/*/slo*.yaml   promtool proofs that every alert behaves

    Specs are sloverify/v1 YAML, a superset of Sloth's prometheus/v1 (a Sloth spec loads
    unchanged). Exit codes: 0 ok, 1 a finding or proof failed, 2 bad input, 3 the harness
    could not decide, 130 interrupted.
    """


def _load(specs: tuple[Path, ...]) -> Loaded:
    return load_all(list(specs), GoInspector())


@cli.command()
@SPECS
def lint(specs: tuple[Path, ...]) -> None:
    """Find the mistakes in SLO specs: arithmetic, thresholds, selectors, windows, volume.

    Every finding has an id (SLO001...), a severity and the line it points at. Exits 1 when
    an error-level finding exists, 0 when there are only warnings or none.
    """
    loaded = _load(specs)
    findings = run_lint(LintContext(loaded.specs, loaded.facts))
    lint_report(out, findings, len(loaded.specs))
    if any(f.severity is Severity.ERROR for f in findings):
        sys.exit(1)


@cli.command()
@SPECS
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for the rule files (created; existing files are replaced whole).",
)
@click.option(
    "--time-scale",
    "scale",
    type=ScaleType(),
    default="1",
    show_default=True,
    help="Divide every window, 'for' and interval by K (60: an hour in a minute).",
)
@click.option(
    "--evaluation-interval",
    type=DurationType(),
    default=str(DEFAULT_EVALUATION_INTERVAL),
    show_default=True,
    help="Rule evaluation interval at real time (also divided by K).",
)
def rules(
    specs: tuple[Path, ...], output: Path, scale: Fraction, evaluation_interval: Duration
) -> None:
    """Generate Prometheus recording, budget and alert rules, checked by promtool.

    One file per spec, <folder>-<file>.rules.yml. Rule names follow Sloth
    (slo:sli_error:ratio_rate5m, slo:period_burn_rate:ratio...). Files are written to a
    temporary folder, checked with `promtool check rules`, and only then moved into place.
    """
    loaded = _load(specs)
    options = RuleOptions(scale=scale, evaluation_interval=evaluation_interval)
    promtool = Promtool()
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output, prefix=".sloverify-") as tmp:
        staged: list[tuple[Path, int]] = []
        for ls, stem in zip(loaded.specs, output_stems(loaded.specs), strict=True):
            groups = [g for r in generate(ls.spec, options) for g in r.groups]
            count = sum(len(g.rules) for g in groups)
            scale_note = f" at time scale {scale}" if scale != 1 else ""
            text = rule_file(
                groups,
                f"Generated by sloverify {__version__} from {ls.path}{scale_note}; do not edit.",
            )
            path = Path(tmp) / f"{stem}.rules.yml"
            path.write_text(text, encoding="utf-8")
            ok, report = promtool.check_rules(path)
            if not ok:
                raise ToolFailed(["promtool", "check", "rules", str(path)], report)
            staged.append((path, count))
        # Only once every file passed promtool: never a half-written set of rules.
        for path, count in staged:
            os.replace(path, output / path.name)
            out.print(f"wrote {output / path.name} ({count} rules, promtool check rules: ok)")


@cli.command()
@SPECS
def explain(specs: tuple[Path, ...]) -> None:
    """Show each alert's threshold, detection time, budget spent and reset time.

    The SRE Workbook's chapter 5 arithmetic under a step fault: at a 100% outage and at twice
    the alert's threshold error ratio; reset is the time to resolve after a 100% outage
    that lasted until detection. Times include the alert's 'for'.
    """
    loaded = _load(specs)
    for ls in loaded.specs:
        explain_table(out, f"{ls.path} ({ls.spec.service})", explain_rows(ls.spec))


@cli.command("test-rules")
@SPECS
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the generated promtool rule and test files in this directory.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=os.cpu_count() or 2,
    show_default=True,
    help="promtool processes to run at once.",
)
def test_rules(specs: tuple[Path, ...], keep: Path | None, workers: int) -> None:
    """Prove every alert with generated promtool unit tests, at real time scale.

    For each alert: a step fault just above its threshold fires by the predicted time
    (within one evaluation interval) and resolves by the predicted reset time; a fault just
    below it never fires. Exits 1 if any alert fails its proof.
    """
    loaded = _load(specs)
    proofs: list[AlertProof] = []
    unprovable: list[str] = []
    for ls, stem in zip(loaded.specs, output_stems(loaded.specs), strict=True):
        made, unproven = prove_spec(ls.spec, stem)
        proofs.extend(made)
        unprovable.extend(f"{ls.path}: {u.label}: {u.reason}" for u in unproven)
    started = time.monotonic()
    lock, done = threading.Lock(), [0]

    def report(result: ProofResult) -> None:
        with lock:
            done[0] += 1
            proof_line(out, result, done[0], len(proofs))

    promtool = Promtool()
    promtool.version()  # fails fast, with the install command, if promtool is missing
    if keep is not None:
        results = promtool.run_proofs(proofs, keep, workers, report)
    else:
        with tempfile.TemporaryDirectory(prefix="sloverify-proofs-") as tmp:
            results = promtool.run_proofs(proofs, Path(tmp), workers, report)
    for line in unprovable:
        out.print(f"[red]FAIL[/red] {escape(line)}")
    failed = sum(not r.passed for r in results) + len(unprovable)
    checks = sum(len(r.proof.checks) for r in results)
    out.print(
        f"{len(results) - failed + len(unprovable)}/{len(results) + len(unprovable)} alerts proven, "
        f"{checks} checks, in {time.monotonic() - started:.1f}s"
    )
    if failed:
        sys.exit(1)


@cli.command("up")
@click.argument("stacks", nargs=-1)
@click.option(
    "--time-scale",
    "scale",
    type=ScaleType(),
    default="1",
    show_default=True,
    help="Divide every window, interval and Alertmanager timer by K.",
)
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(sorted(KINDS)),
    help="Start only these components (repeatable).",
)
@click.option(
    "--external",
    multiple=True,
    metavar="NAME=URL",
    help="Use a component somebody else runs (checked, never started). Repeatable.",
)
@click.option(
    "--timeout",
    type=float,
    default=180.0,
    show_default=True,
    help="Seconds to wait for every component to become ready.",
)
@click.option(
    "--backend",
    type=click.Choice(["embedded", "docker"]),
    default="embedded",
    show_default=True,
    help="docker: dependencies in containers via testcontainers (needs a Docker engine).",
)
def up_command(
    stacks: tuple[str, ...],
    scale: Fraction,
    only: tuple[str, ...],
    external: tuple[str, ...],
    timeout: float,
    backend: str,
) -> None:
    """Start the embedded runtime in the background and wait until it is ready.

    \b
    Prometheus, Alertmanager (routing by severity to sloverify's recording webhook),
    Toxiproxy, PostgreSQL, Kafka (KRaft) and a MongoDB-protocol server (FerretDB), each a
    local process on free 127.0.0.1 ports, supervised: a crashed component is restarted with
    back-off. STACK loads that stack's SLO rules into Prometheus at the time scale.
    Examples:
      sloverify up                               everything
      sloverify up maestro --time-scale 60       with Maestro's rules, an hour in a minute
      sloverify up --external prometheus=http://staging:9090 --only prometheus
    """
    state = runtime.up(err, stacks, scale, only, external, timeout, backend)
    out.print(runtime.status_table(state))
    out.print("stop it with: sloverify down")


@cli.command("status")
@click.option("--run", "run_id", help="A run id (default: the newest active run).")
def status_command(run_id: str | None) -> None:
    """Show the components of a run: URL, status, restarts and log file."""
    state = runtime.find_run(run_id).read_state()
    if state is None:
        raise InputError("the run has no state yet")
    out.print(runtime.status_table(state))


@cli.command("down")
@click.option("--run", "run_id", help="A run id (default: the newest active run).")
def down_command(run_id: str | None) -> None:
    """Stop a run: every component, in reverse order; logs are kept."""
    runtime.down(out, run_id)


@cli.command("logs")
@click.argument("component")
@click.option("--run", "run_id", help="A run id (default: the newest run).")
@click.option("-n", "--lines", type=click.IntRange(1), default=100, show_default=True)
def logs_command(component: str, run_id: str | None, lines: int) -> None:
    """Print the end of a component's log (prometheus, kafka, controller...)."""
    runtime.logs(out, component, run_id, lines)


chaos.register(cli, out)
gameday.register(cli, out)
traffic.register(cli, ScaleType(), DurationType())


def main() -> None:
    """Entry point: run the CLI and turn errors into messages and exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.Abort:
        err.print("interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except InputError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except HarnessError as exc:
        err.print(f"[red]harness error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except SloverifyError as exc:
        err.print(f"error: {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug in sloverify: say so, briefly, and keep the detail
        err.print(f"internal error: {type(exc).__name__}: {escape(str(exc))}")
        if os.environ.get("SLOVERIFY_DEBUG"):
            traceback.print_exc()
        else:
            err.print("rerun with SLOVERIFY_DEBUG=1 for the traceback, and please report it")
        sys.exit(3)
