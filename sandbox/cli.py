"""The command line: run, validate, analyse and draw scenarios.

    sandbox run FILE [--seed N] [--json] [--rate R] [--duration S] [--traces OUT.json [--trace-count N]]
    sandbox validate FILE
    sandbox analyse FILE [--rate R] [--json]
    sandbox schema
    sandbox diagram FILE [--format dot|mermaid] [--svg OUT] [--run] [--seed N] [--duration S]
    sandbox challenge list [--json]
    sandbox challenge check FILE [--design DESIGN.yaml | --solution] [--predict ID=VALUE] [--json]
    sandbox replicate FILE [-n 10]                      each figure as mean ± 95% interval
    sandbox compare A.yaml [B.yaml] [--set PATH=VALUE] [-n 10]   paired runs on identical traffic
    sandbox sweep FILE --set PATH=START:STOP:STEPS [--set ...] [-n 5]
    sandbox sensitivity FILE --vary 'nodes.*.workers' [--vary ...] [--by 20%] [-n 5]
    sandbox report FILE [--compare B.yaml] [--set PATH=VALUE] [--sweep PATH=RANGE] --out DIR [--force]
    sandbox import compose docker-compose.yml [--out FILE]   a scenario draft, its assumed values listed
    sandbox import k8s FILE_OR_DIR... [--out FILE]           the same from Kubernetes manifests
    sandbox calibrate FILE TRACES.json [--sampling P] [--out FILE] [--json]   fit to OpenTelemetry/Jaeger traces

The experiments take --workers N (local processes; default every core) or
--scheduler tcp://HOST:8786 (a Dask cluster), --json, and --progress.

Exit codes: 0 success, 1 the simulation could not run, 2 bad input (with one
clear message and no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, TextIO

from .cli_challenge import challenge_command
from .cli_experiments import EXPERIMENT_COMMANDS, add_experiment_parsers, positive_option, seed_option
from .cli_calibrate import add_calibrate_parser, calibrate_command
from .cli_import import add_import_parser, import_command, write_new_file
from .errors import SandboxError, ScenarioError, SimulationError

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import Scenario

__all__ = ["main"]

MAX_TRACE_COUNT = 20_000   # traced requests a run may write: each keeps up to 1,000 spans in memory


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sandbox", description="Simulate software architectures described in YAML.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="simulate a scenario and print its results")
    run.add_argument("file", help="scenario YAML file")
    run.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's, or 0)")
    run.add_argument("--json", action="store_true", help="print the results as JSON")
    run.add_argument("--series", action="store_true", help="with --json: include time series, histogram, traces")
    run.add_argument("--rate", type=float, default=None, metavar="RPS", help="override workload.rate_rps")
    run.add_argument("--duration", type=float, default=None, metavar="S", help="override workload.duration_s")
    run.add_argument("--traces", metavar="OUT.json", default=None,
                     help="also write sampled traces as OpenTelemetry JSON (OTLP, as the Collector's file exporter)")
    run.add_argument("--trace-count", type=int, default=1000, metavar="N",
                     help=f"with --traces: requests to trace, spread over the run (default 1000, at most {MAX_TRACE_COUNT:,})")

    val = sub.add_parser("validate", help="check a scenario file and say what is wrong")
    val.add_argument("file")

    an = sub.add_parser("analyse", aliases=["analyze"], help="back-of-envelope queueing analysis, no simulation")
    an.add_argument("file")
    an.add_argument("--rate", type=float, default=None, metavar="RPS")
    an.add_argument("--json", action="store_true")

    sub.add_parser("schema", help="print the JSON Schema of the scenario format")

    ch = sub.add_parser("challenge", help="list the campaign's challenges, or grade a design")
    chsub = ch.add_subparsers(dest="challenge_command", required=True, metavar="ACTION")
    chl = chsub.add_parser("list", help="the challenges in campaign order")
    chl.add_argument("--json", action="store_true")
    chl.add_argument("--folder", default=None, help="a folder of challenge files (default: scenarios/challenges)")
    chc = chsub.add_parser("check", help="grade a design: the starter (default), --design FILE or --solution")
    chc.add_argument("file", help="challenge file")
    which = chc.add_mutually_exclusive_group()
    which.add_argument("--design", metavar="DESIGN.yaml", default=None, help="your design: nodes and edges")
    which.add_argument("--solution", action="store_true", help="grade the reference solution")
    chc.add_argument("--predict", metavar="ID=VALUE", action="append", default=[],
                     help="a prediction, scored against the runs (repeatable)")
    chc.add_argument("--json", action="store_true")

    dia = sub.add_parser("diagram", help="print the architecture as Graphviz DOT or Mermaid, or write SVG")
    dia.add_argument("file")
    dia.add_argument("--format", choices=("dot", "mermaid"), default="dot",
                     help="dot (Graphviz, the default) or mermaid (a flowchart for docs and pull requests)")
    dia.add_argument("--svg", metavar="OUT", default=None,
                     help="write SVG here, or - for standard output (needs Graphviz's dot program)")
    dia.add_argument("--run", action="store_true", help="simulate first and colour nodes by utilization")
    dia.add_argument("--seed", type=int, default=None)
    dia.add_argument("--duration", type=float, default=None, metavar="S", help="with --run: override workload.duration_s")
    add_import_parser(sub)
    add_calibrate_parser(sub)
    add_experiment_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args, out)
    except KeyboardInterrupt:
        print("stopped (Ctrl-C)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output was piped into a command that stopped reading (| head)
        return 1
    except OSError as exc:   # the output could not be written (a full disk, a closed terminal)
        print(f"error: the output could not be written: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ScenarioError as exc:
        # the library names what was wrong ("setting", "runs"); here it is the option the user typed
        print(f"error: {ScenarioError(_FLAGS.get(exc.source, exc.source), exc.problems)}", file=sys.stderr)
        return 2
    except SimulationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SandboxError as exc:  # pragma: no cover - every subclass is handled above
        print(f"error: {exc}", file=sys.stderr)
        return 1


_WARN_REQUESTS = 20_000_000  # about a few minutes of simulation on one core
_WARN_CALLS = 100_000_000


def _warn_if_long(scenario: "Scenario") -> None:
    """Say before a long run starts how big it is (the CLI has no limits: the user may want it).

    Requests are counted from the workload, calls from the traffic equations (what fan-out and
    repeated calls multiply; retries of failures that travel up the call chain are not seen there).
    """
    from .analysis import visits
    expected = scenario.workload.expected_requests()
    per_request = sum(v for v in visits(scenario).values() if math.isfinite(v))
    calls = expected * per_request
    if expected > _WARN_REQUESTS:
        minutes = expected / 100_000 / 60  # the engine simulates roughly 100,000 requests a second
        print(f"note: this run simulates about {expected:,.0f} requests, roughly {minutes:,.0f} minutes at about "
              "100,000 a second; press Ctrl-C to stop it", file=sys.stderr, flush=True)
    elif calls > _WARN_CALLS:
        print(f"note: each request makes about {per_request:,.0f} calls ({calls:,.0f} in all), which may take "
              "very long; press Ctrl-C to stop it", file=sys.stderr, flush=True)


_FLAGS = {"setting": "--set", "runs": "-n", "seed": "--seed", "seeds": "--seed", "workers": "--workers"}


def _blame_options(file: str, exc: ScenarioError, options: dict[str, str]) -> ScenarioError:
    """A problem an option's value caused names the option; any other names the file."""
    own = [(p, r) for p, r in exc.problems if p in options]
    if own:
        return ScenarioError(options[own[0][0]], [("", own[0][1])])
    return ScenarioError(file, exc.problems)


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from .engine import simulate
    from .scenario import load, with_overrides
    positive_option("--rate", args.rate)
    positive_option("--duration", args.duration)
    seed_option(args.seed)
    scenario = load(args.file)
    overrides = {k: v for k, v in (("workload.rate_rps", args.rate), ("workload.duration_s", args.duration))
                 if v is not None}
    try:
        if overrides:
            scenario = with_overrides(scenario, overrides)
    except ScenarioError as exc:  # an override made the scenario invalid: name the option if it was the one
        raise _blame_options(args.file, exc, {"workload.rate_rps": "--rate", "workload.duration_s": "--duration"}) \
            from None
    _warn_if_long(scenario)
    if args.traces is not None and not 1 <= args.trace_count <= MAX_TRACE_COUNT:
        raise ScenarioError("--trace-count", [("", f"must be between 1 and {MAX_TRACE_COUNT:,}, got {args.trace_count}")])
    results = simulate(scenario, seed=args.seed, max_traces=args.trace_count if args.traces is not None else 20)
    if args.traces is not None:
        from .otlp import otlp_json
        write_new_file(args.traces, otlp_json(results, scenario), "--traces")
        print(f"wrote {len(results.traces):,} traces to {args.traces}", file=sys.stderr)
    if args.json:
        out.write(results.to_json(series=args.series) + "\n")
    else:
        from .report import summary_text
        out.write(summary_text(results) + "\n")
    return 0


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    from .scenario import load
    s = load(args.file)
    out.write(f"{args.file}: valid: {s.name!r}, {len(s.nodes)} nodes, {len(s.edges)} edges\n")
    return 0


def _analyse(args: argparse.Namespace, out: TextIO) -> int:
    from .analysis import analyse
    from .report import analysis_text
    from .results import analysis_json
    from .scenario import load
    positive_option("--rate", args.rate)
    s = load(args.file)
    a = analyse(s, rate_rps=args.rate)
    if args.json:
        out.write(json.dumps(analysis_json(a), indent=2) + "\n")
    else:
        out.write(analysis_text(s, a) + "\n")
    return 0


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    from .scenario import json_schema
    out.write(json.dumps(json_schema(), indent=2) + "\n")
    return 0


def _diagram(args: argparse.Namespace, out: TextIO) -> int:
    from .diagram import to_dot
    from .scenario import load
    seed_option(args.seed)
    positive_option("--duration", args.duration)
    s = load(args.file)
    if args.format == "mermaid" and args.svg is not None:
        raise ScenarioError("--svg", [("", "--svg draws the Graphviz diagram; Mermaid is text, printed as it is "
                                          "(leave out --svg, or --format mermaid)")])
    results = None
    if args.run:
        from .engine import simulate
        from .scenario import with_overrides
        try:
            run_s = with_overrides(s, {"workload.duration_s": args.duration}) if args.duration else s
        except ScenarioError as exc:
            raise ScenarioError(args.file, exc.problems) from None
        _warn_if_long(run_s)
        results = simulate(run_s, seed=args.seed)
    if args.format == "mermaid":
        from .mermaid import to_mermaid
        out.write(to_mermaid(s, results) + "\n")
        return 0
    dot = to_dot(s, results)
    if args.svg is None:
        out.write(dot + "\n")
        return 0
    from .diagram import to_svg
    svg = to_svg(dot)
    if args.svg == "-":   # to standard output
        sys.stdout.buffer.write(svg)
        return 0
    try:
        Path(args.svg).write_bytes(svg)
    except OSError as exc:
        raise ScenarioError("--svg", [("", f"{args.svg} cannot be written: {exc.strerror or exc}")]) from None
    out.write(f"wrote {args.svg}\n")
    return 0


_COMMANDS = {"run": _run, "validate": _validate, "analyse": _analyse, "analyze": _analyse,
             "schema": _schema, "diagram": _diagram, **EXPERIMENT_COMMANDS, "challenge": challenge_command,
             "import": import_command, "calibrate": calibrate_command}
