"""The command line: run, validate, analyse and draw scenarios.

    sandbox run FILE [--seed N] [--json] [--rate R] [--duration S]
    sandbox validate FILE
    sandbox analyse FILE [--rate R] [--json]
    sandbox schema
    sandbox diagram FILE [--svg OUT] [--run] [--seed N]

Exit codes: 0 success, 1 the simulation could not run, 2 bad input (with one
clear message and no traceback).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Sequence, TextIO

from .errors import SandboxError, ScenarioError, SimulationError

__all__ = ["main"]


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

    val = sub.add_parser("validate", help="check a scenario file and say what is wrong")
    val.add_argument("file")

    an = sub.add_parser("analyse", aliases=["analyze"], help="back-of-envelope queueing analysis, no simulation")
    an.add_argument("file")
    an.add_argument("--rate", type=float, default=None, metavar="RPS")
    an.add_argument("--json", action="store_true")

    sub.add_parser("schema", help="print the JSON Schema of the scenario format")

    dia = sub.add_parser("diagram", help="print the architecture as Graphviz DOT, or write SVG")
    dia.add_argument("file")
    dia.add_argument("--svg", metavar="OUT", default=None, help="write SVG here (needs Graphviz's dot program)")
    dia.add_argument("--run", action="store_true", help="simulate first and colour nodes by utilization")
    dia.add_argument("--seed", type=int, default=None)
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args, out)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SimulationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SandboxError as exc:  # pragma: no cover - every subclass is handled above
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from .engine import simulate
    from .scenario import load
    scenario = load(args.file)
    if args.rate is not None and args.rate <= 0:
        raise ScenarioError("--rate", [("", f"must be more than 0, got {args.rate:g}")])
    if args.duration is not None and args.duration <= 0:
        raise ScenarioError("--duration", [("", f"must be more than 0, got {args.duration:g}")])
    try:
        results = simulate(scenario, seed=args.seed, rate_rps=args.rate, duration_s=args.duration)
    except ScenarioError as exc:  # an override made the scenario invalid
        raise ScenarioError(args.file, exc.problems) from None
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
    from .results import _analysis_json
    from .scenario import load
    s = load(args.file)
    if args.rate is not None and args.rate <= 0:
        raise ScenarioError("--rate", [("", f"must be more than 0, got {args.rate:g}")])
    a = analyse(s, rate_rps=args.rate)
    if args.json:
        out.write(json.dumps(_analysis_json(a), indent=2) + "\n")
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
    s = load(args.file)
    results = None
    if args.run:
        from .engine import simulate
        results = simulate(s, seed=args.seed)
    dot = to_dot(s, results)
    if args.svg is None:
        out.write(dot + "\n")
        return 0
    if shutil.which("dot") is None:
        raise SimulationError("SVG needs Graphviz's `dot` program, which is not installed "
                              "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz). "
                              "Without --svg this command prints the DOT source instead.")
    import graphviz
    svg = graphviz.Source(dot).pipe(format="svg")
    Path(args.svg).write_bytes(svg)
    out.write(f"wrote {args.svg}\n")
    return 0


_COMMANDS = {"run": _run, "validate": _validate, "analyse": _analyse, "analyze": _analyse,
             "schema": _schema, "diagram": _diagram}
