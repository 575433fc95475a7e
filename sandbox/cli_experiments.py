"""The command line's experiments: replicate, compare, sweep, sensitivity and report, their options and runs.

Each subcommand parses its options here, runs one library call (:mod:`sandbox.experiments`,
:func:`sandbox.report_md.design_review`) with the runs' progress on stderr, and prints text or JSON;
:mod:`sandbox.cli` registers them (:func:`add_experiment_parsers`, :data:`EXPERIMENT_COMMANDS`). The number
checks shared with the other subcommands (:func:`positive_option`, :func:`seed_option`) live here too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TextIO

from .errors import ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    from .experiments.runs import RunOptionsArgs
    from .scenario import Scenario

__all__ = ["add_experiment_parsers", "EXPERIMENT_COMMANDS", "positive_option", "seed_option"]


def positive_option(flag: str, value: float | None) -> None:
    """A number option must be finite and above 0 (nan > 0 is False, so nan is caught too)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ScenarioError(flag, [("", f"must be a finite number above 0, got {value:g}")])


def seed_option(value: int | None) -> None:
    if value is not None and value < 0:
        raise ScenarioError("--seed", [("", f"must be non-negative, got {value}")])


def _experiment_options(p: argparse.ArgumentParser, runs: int) -> None:
    p.add_argument("-n", "--runs", type=int, default=runs, metavar="N", help=f"seeds per design (default {runs})")
    p.add_argument("--seed", type=int, default=None, help="first seed; run k uses seed + k (default: the scenario's, or 0)")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="override workload.duration_s")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: every core; 1 runs in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="run on a Dask cluster, e.g. tcp://HOST:8786 (needs the dask extra)")
    p.add_argument("--progress", action="store_true", help="show progress on stderr even when it is not a terminal")


def add_experiment_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    rep = sub.add_parser("replicate", help="run several seeds: each figure as mean ± 95%% confidence interval")
    rep.add_argument("file")
    _experiment_options(rep, 10)
    rep.add_argument("--json", action="store_true")

    cmp_ = sub.add_parser("compare", help="A/B: two designs (or one and a change) on identical traffic")
    cmp_.add_argument("file", help="design A")
    cmp_.add_argument("other", nargs="?", default=None, help="design B (default: A with the --set changes)")
    cmp_.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", dest="changes",
                      help="a change for B, e.g. nodes.web.replicas=4 (repeatable)")
    _experiment_options(cmp_, 10)
    cmp_.add_argument("--json", action="store_true")

    sw = sub.add_parser("sweep", help="vary one or two settings over ranges: curves, knee, Pareto frontier")
    sw.add_argument("file")
    sw.add_argument("--set", action="append", default=[], metavar="PATH=START:STOP:STEPS", dest="ranges",
                    help="a setting to vary: START:STOP:STEPS (evenly spaced, ends included), "
                         "START:STOP (whole steps) or V1,V2,... (once or twice)")
    sw.add_argument("--factor", type=float, default=2.0,
                    help="the knee is where p99 first exceeds this multiple of its best (default 2)")
    _experiment_options(sw, 5)
    sw.add_argument("--json", action="store_true")

    sen = sub.add_parser("sensitivity", help="which setting matters: each moved down and up on identical traffic")
    sen.add_argument("file")
    sen.add_argument("--vary", action="append", default=[], metavar="PATTERN",
                     help="settings to move, e.g. 'nodes.*.workers', nodes.db.replicas, workload.rate_rps (repeatable)")
    sen.add_argument("--by", default="20%", help="how far down and up: 20%% or 0.2 (default 20%%)")
    _experiment_options(sen, 5)
    sen.add_argument("--json", action="store_true")

    rpt = sub.add_parser("report", help="write a design review in Markdown, with diagram and charts")
    rpt.add_argument("file")
    rpt.add_argument("--compare", default=None, metavar="B.yaml", help="compare with this design")
    rpt.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", dest="changes",
                     help="compare with FILE (or --compare) changed like this (repeatable)")
    rpt.add_argument("--sweep", action="append", default=[], metavar="PATH=START:STOP:STEPS", dest="ranges",
                     help="add a sweep of this setting (once or twice): latency curve, knee, frontier")
    rpt.add_argument("--out", required=True, metavar="DIR", help="folder for report.md and its images")
    rpt.add_argument("--force", action="store_true", help="replace a report already in --out")
    _experiment_options(rpt, 10)


class _ProgressBar:
    """``[#########.........] 37/200 runs  12 s`` on a terminal line, redrawn in place."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label = stream, label
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(1, total)
        elapsed = time.perf_counter() - self.t0
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} runs  "
                          f"{elapsed:.0f} s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _experiment_kwargs(args: argparse.Namespace, label: str, need_interval: bool) -> "RunOptionsArgs":
    """workers, scheduler and progress for the library call, after checking -n and --workers."""
    if args.runs < (2 if need_interval else 1):
        why = "a confidence interval needs at least 2 runs" if need_interval else "must be at least 1"
        raise ScenarioError("-n", [("", f"{why}, got {args.runs}")])
    if args.runs > 100_000:
        raise ScenarioError("-n", [("", f"must be at most 100,000, got {args.runs}")])
    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers", [("", f"must be at least 1, got {args.workers}")])
    if args.workers is not None and args.scheduler is not None:
        raise ScenarioError("--workers", [("", "sets the local pool; with --scheduler the Dask cluster's "
                                               "workers run the work (give one or the other)")])
    seed_option(args.seed)
    show = args.progress or sys.stderr.isatty()
    return {"workers": args.workers, "scheduler": args.scheduler,
            "progress": _ProgressBar(sys.stderr, label) if show else None}


def _load_for_experiment(path: str, args: argparse.Namespace, changes: dict[str, Any] | None = None) -> "Scenario":
    """Load a scenario with --duration and PATH=VALUE changes applied (errors name the file)."""
    from .scenario import load, with_overrides
    scenario = load(path)
    overrides = dict(changes or {})
    if args.duration is not None:
        positive_option("--duration", args.duration)
        overrides["workload.duration_s"] = args.duration
    if not overrides:
        return scenario
    try:
        return with_overrides(scenario, overrides)
    except ScenarioError as exc:
        raise ScenarioError(path, exc.problems) from None


def _changes(texts: list[str]) -> dict[str, Any]:
    from .settings import parse_setting
    return dict(parse_setting(t) for t in texts)


def _design_b(args: argparse.Namespace, other: str | None) -> "Scenario | None":
    """Design B: the other file, or A, with the --set changes; None when neither is given."""
    from .experiments import variant
    changes = _changes(args.changes)
    if other is None and not changes:
        return None
    path = other or args.file
    b = _load_for_experiment(path, args)
    try:
        return variant(b, changes)
    except ScenarioError as exc:
        raise ScenarioError(path, exc.problems) from None


def _write_json(out: TextIO, data: dict[str, Any]) -> None:
    out.write(json.dumps(data, indent=2, allow_nan=False) + "\n")


def _replicate(args: argparse.Namespace, out: TextIO) -> int:
    from .experiments import replicate
    kw = _experiment_kwargs(args, "replicate", need_interval=True)
    rep = replicate(_load_for_experiment(args.file, args), args.runs, seed=args.seed, **kw)
    if args.json:
        _write_json(out, rep.to_dict())
    else:
        out.write(rep.text() + "\n")
    return 0


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    from .experiments import compare
    kw = _experiment_kwargs(args, "compare", need_interval=True)
    a = _load_for_experiment(args.file, args)
    b = _design_b(args, args.other)
    if b is None:
        raise ScenarioError("compare", [("", "give design B as a second file, or changes with --set PATH=VALUE")])
    result = compare(a, b, args.runs, seed=args.seed, **kw)
    if args.json:
        _write_json(out, result.to_dict())
    else:
        out.write(result.text() + "\n")
    return 0


def _sweep(args: argparse.Namespace, out: TextIO) -> int:
    from .experiments import sweep
    from .settings import parse_range
    kw = _experiment_kwargs(args, "sweep", need_interval=False)
    if not 1 <= len(args.ranges) <= 2:
        raise ScenarioError("--set", [("", f"a sweep varies one or two settings (--set PATH=START:STOP:STEPS), "
                                           f"got {len(args.ranges)}")])
    if not args.factor > 1:
        raise ScenarioError("--factor", [("", f"must be more than 1, got {args.factor:g}")])
    axes = [parse_range(t) for t in args.ranges]
    result = sweep(_load_for_experiment(args.file, args), axes, args.runs, seed=args.seed, factor=args.factor, **kw)
    if args.json:
        _write_json(out, result.to_dict())
    else:
        out.write(result.text() + "\n")
    return 0


def _sensitivity(args: argparse.Namespace, out: TextIO) -> int:
    from .experiments import sensitivity
    kw = _experiment_kwargs(args, "sensitivity", need_interval=True)
    if not args.vary:
        raise ScenarioError("--vary", [("", "name the settings to move, e.g. --vary 'nodes.*.workers'")])
    text = str(args.by).strip()
    try:
        by = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ScenarioError("--by", [(text, "must be a share like 20% or 0.2")]) from None
    result = sensitivity(_load_for_experiment(args.file, args), args.vary, by, args.runs, seed=args.seed, **kw)
    if args.json:
        _write_json(out, result.to_dict())
    else:
        out.write(result.text() + "\n")
    return 0


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from .report_md import design_review
    from .settings import parse_range
    kw = _experiment_kwargs(args, "report", need_interval=True)
    if len(args.ranges) > 2:
        raise ScenarioError("--sweep", [("", f"a sweep varies one or two settings, got {len(args.ranges)}")])
    a = _load_for_experiment(args.file, args)
    b = _design_b(args, args.compare)
    axes = [parse_range(t) for t in args.ranges]
    folder = Path(args.out)
    new = _report_folder(folder, args.force)
    try:
        path = design_review(a, folder, n=args.runs, seed=args.seed, b=b, sweep_axes=axes,
                             a_source=args.file, b_source=args.compare or args.file, **kw)
    except BaseException:
        if new and not any(folder.iterdir()):
            folder.rmdir()   # a report that could not be made leaves no empty folder behind
        raise
    out.write(f"wrote {path}\n")
    return 0


def _report_folder(folder: Path, force: bool) -> bool:
    """Make the report's folder now, before any run; True when it is new. Never an earlier report
    (or any file a report writes) replaced by surprise."""
    from .report_md import REPORT_FILES
    if folder.exists() and not folder.is_dir():
        raise ScenarioError("--out", [("", f"{folder} exists and is not a folder")])
    there = sorted(name for name in REPORT_FILES if (folder / name).exists())
    if there and not force:
        raise ScenarioError("--out", [("", f"{folder} already holds {', '.join(there)}, which a report writes; "
                                           "choose another folder, or give --force to replace them")])
    new = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError("--out", [("", f"{folder} cannot be created: {exc.strerror or exc}")]) from None
    return new


EXPERIMENT_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "replicate": _replicate, "compare": _compare, "sweep": _sweep, "sensitivity": _sensitivity, "report": _report}
