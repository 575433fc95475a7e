"""Design reviews: one Markdown file, with its diagram and charts, that argues for a design.

:func:`design_review` runs the experiments (replications, and optionally an
A/B comparison and a sweep) and writes ``report.md`` beside its images:

- the diagram, coloured by utilization after one run: ``diagram.svg`` when
  Graphviz's ``dot`` is installed, else ``diagram.dot`` (and the DOT source
  inline);
- the workload and the model's assumptions, in words;
- the headline figures as mean ± 95% interval over the runs;
- charts as PNG (matplotlib, drawn off-screen with the Agg canvas, never
  touching pyplot's global state): latency with intervals, p99 and
  throughput over time, the A/B differences, the sweep's latency curve with
  its knee, and cost against p99 with the Pareto frontier.

:func:`markdown_table` is the one formatting helper shared by every section.

>>> print(markdown_table(["figure", "mean"], [["p99", "180 ± 12 ms"], ["a|b", "1"]]))
| figure | mean |
| --- | ---: |
| p99 | 180 ± 12 ms |
| a\\|b | 1 |
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, Unpack

from .experiments import (FIGURES, ComparisonResult, ReplicationResult, RunOptions, SweepResult, compare,
                          format_estimate, label, replicate, sweep)
from .experiments.runs import RunOptionsArgs
from .kinds import Node, kind_of
from .report_classes import CLASS_HEADER, class_rows
from .scenario import Scenario
from .settings import SweepAxis, show_value

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .results import Results

__all__ = ["design_review", "write_report", "Experiments", "markdown_table", "md_text", "REPORT_FILES"]

# every file a report may write (so that none is replaced without being asked)
REPORT_FILES = ("report.md", "diagram.svg", "diagram.dot", "diagram_b.svg", "diagram_b.dot", "latency.png",
                "series.png", "difference.png", "sweep_latency.png", "sweep_pareto.png")

_LATENCY = ("latency_ms.mean", "latency_ms.p50", "latency_ms.p95", "latency_ms.p99")
_A_COLOUR, _B_COLOUR = "#4c72b0", "#dd8452"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>:$])")


def md_text(text: str) -> str:
    """User text (a design's name) as Markdown shows it literally: no emphasis, links, images or HTML.

    >>> print(md_text("**big** <b>[x](http://e)"))
    \\*\\*big\\*\\* \\<b\\>\\[x\\]\\(http\\://e\\)
    """
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], numbers: bool = True) -> str:
    """A GitHub-flavoured Markdown table: the first column left-aligned, the others right (`numbers`) or left."""
    esc = lambda x: str(x).replace("|", "\\|")
    rule = "---:" if numbers else "---"
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "| " + " | ".join(["---"] + [rule] * (len(header) - 1)) + " |"]
    lines += ["| " + " | ".join(esc(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Experiments:
    """Where a design review gets its runs: the library's own functions by default (:meth:`direct`), or
    ones the caller keeps (the app passes its cached runs, so a review re-runs nothing it has shown)."""
    simulate: Callable[[Scenario, int], "Results"]
    replicate: Callable[[Scenario, int, int], ReplicationResult]
    compare: Callable[[Scenario, Scenario, int, int], ComparisonResult]
    sweep: Callable[[Scenario, list[SweepAxis], int, int], SweepResult]

    @classmethod
    def direct(cls, run: RunOptions) -> "Experiments":
        """The library's functions, every run made as `run` says (executor, limits, cancel, progress)."""
        from .engine import simulate
        return cls(simulate=lambda s, seed: simulate(s, seed=seed, limits=run.limits, cancel=run.cancel),
                   replicate=lambda s, n, seed: replicate(s, n, seed=seed, run=run),
                   compare=lambda a, b, n, seed: compare(a, b, n, seed=seed, run=run),
                   sweep=lambda s, axes, n, seed: sweep(s, axes, n, seed=seed, run=run))


def design_review(a: Scenario, out_dir: str | Path, *, n: int = 10, seed: int | None = None,
                  b: Scenario | None = None, sweep_axes: Sequence[SweepAxis] = (), sweep_runs: int | None = None,
                  a_source: str = "", b_source: str = "", experiments: Experiments | None = None,
                  run: RunOptions | None = None, **options: Unpack[RunOptionsArgs]) -> Path:
    """Run the experiments for a design review of `a` (against `b`, with a sweep) and write it.

    Returns the path of ``report.md`` in `out_dir`. The runs come from
    `experiments` (default: the library's, made as `run` or the keywords say:
    ``workers=``, ``limits=``, ...; all through one executor).
    """
    base = seed if seed is not None else (a.seed or 0)
    how = RunOptions.of(run, options)
    if experiments is None and how.executor is None:
        from .executors import executor_for
        with executor_for(how.workers, how.scheduler) as pool:
            return design_review(a, out_dir, n=n, seed=seed, b=b, sweep_axes=sweep_axes, sweep_runs=sweep_runs,
                                 a_source=a_source, b_source=b_source, run=RunOptions.of(how, {"executor": pool}))
    ex = experiments if experiments is not None else Experiments.direct(how)
    if b is not None:
        comparison: ComparisonResult | None = ex.compare(a, b, n, base)
        assert comparison is not None
        replication = comparison.a
    else:
        comparison = None
        replication = ex.replicate(a, n, base)
    swept = ex.sweep(a, list(sweep_axes), sweep_runs or n, base) if sweep_axes else None
    run_a = ex.simulate(a, base)
    run_b = ex.simulate(b, base) if b is not None else None
    return write_report(out_dir, a, replication, run_a, b=b, comparison=comparison, run_b=run_b, swept=swept,
                        a_source=a_source, b_source=b_source)


def write_report(out_dir: str | Path, a: Scenario, replication: ReplicationResult, run_a: "Results", *,
                 b: Scenario | None = None, comparison: ComparisonResult | None = None,
                 run_b: "Results | None" = None, swept: SweepResult | None = None,
                 a_source: str = "", b_source: str = "") -> Path:
    """Write ``report.md`` and its images from experiments already run; returns the report's path."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sections = [_title(a, replication, comparison, swept, a_source, b_source, run_a)]
    sections.append(_design_section(folder, "diagram", a, run_a, "The design"))
    sections.append(_workload_section(a, run_a, replication))
    sections.append(_figures_section(folder, replication, comparison, run_a, run_b))
    if comparison is not None and b is not None and run_b is not None:
        sections.append(_comparison_section(folder, a, b, comparison, run_b))
    if swept is not None:
        sections.append(_sweep_section(folder, swept))
    path = folder / "report.md"
    path.write_text("\n\n".join(s.strip() for s in sections) + "\n", encoding="utf-8")
    return path


# ── sections ─────────────────────────────────────────────────────────────────

def _title(a: Scenario, rep: ReplicationResult, cmp_: ComparisonResult | None, swept: SweepResult | None,
           a_source: str, b_source: str, run_a: "Results") -> str:
    n = len(rep.runs)
    seeds = f"seeds {rep.seeds[0]}-{rep.seeds[-1]}" if n > 1 else f"seed {rep.seeds[0]}"
    source = f" from `{a_source}`" if a_source else ""
    lines = [f"# Design review: {md_text(a.name)}", ""]
    if a.description:
        lines += [a.description.strip(), ""]
    lines += [f"Generated by `sandbox report`{source}: {n} runs per design ({seeds}), each figure the mean "
              f"over the runs ± the half-width of its {rep.confidence:.0%} Student t interval.", "",
              "## Summary", "",
              f"- **{rep.headline()}**; {_fig(rep, 'throughput_rps')} served, goodput {_fig(rep, 'goodput')}."]
    necks = rep.bottlenecks()
    if necks and necks[0][0] is not None:
        lines.append(f"- **Bottleneck**: {necks[0][0]} in {necks[0][1]} of {n} runs. "
                     f"In the run with seed {run_a.seed}: {run_a.bottleneck.why}.")
    if run_a.classes:
        lines += ["", f"Request classes in the run with seed {run_a.seed}:", "",
                  markdown_table(CLASS_HEADER, class_rows(run_a), numbers=False), ""]
    if cmp_ is not None:
        lines.append(f"- **A/B** (A = this design, B = {md_text(cmp_.b.scenario)}"
                     + (f" from `{b_source}`" if b_source and b_source != a_source else "")
                     + f"): {cmp_.verdict}")
    if swept is not None:
        lines += [f"- **Sweep**: {k.sentence()}" for k in swept.knees]
    return "\n".join(lines)


def _design_section(folder: Path, stem: str, s: Scenario, run: "Results", heading: str) -> str:
    from .diagram import to_dot
    dot = to_dot(s, run)
    lines = [f"## {heading}", ""]
    if shutil.which("dot") is not None:
        from .diagram import to_svg
        (folder / f"{stem}.svg").write_bytes(to_svg(dot))
        lines += [f"![{md_text(s.name)}: nodes coloured by utilization in the run with seed {run.seed}; "
                  f"the bottleneck has a thick border]({stem}.svg)", ""]
    else:
        (folder / f"{stem}.dot").write_text(dot + "\n", encoding="utf-8")
        lines += [f"Graphviz is not installed here, so the diagram is `{stem}.dot` "
                  f"(render it with `dot -Tsvg {stem}.dot -o {stem}.svg`):", "", "```dot", dot.rstrip(), "```", ""]
    from .mermaid import to_mermaid
    lines += ["The same diagram as Mermaid, to paste into docs and pull requests:", "", "```mermaid",
              to_mermaid(s, run), "```", ""]
    lines.append(markdown_table(["node", "kind", "size", "service time", "other settings"],
                                [_node_row(name, node) for name, node in s.nodes.items()], numbers=False))
    if s.edges:
        lines += ["", "Calls (in order): " + "; ".join(_edge_text(e) for e in s.edges) + "."]
    return "\n".join(lines)


def _node_row(name: str, node: Node) -> list[str]:
    """Name, kind, size (its kind's summary), service time, and every other setting it changes."""
    kind = kind_of(node)
    d = node.model_dump(exclude_defaults=True, mode="json")
    d.pop("kind", None)
    d.pop("service_time", None)
    spec = kind.service_time(node)
    st = spec.model_dump(exclude_none=True, mode="json") if spec is not None else None
    shown_in_summary = {"replicas", "workers"} if kind.has_workers else set()
    other = ", ".join(f"{k}: {_short(v)}" for k, v in d.items() if k not in shown_in_summary)
    return [name, kind.label, kind.summary(node), _service_text(st) if st else "", other]


def _short(v: Any) -> str:
    text = str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _service_text(st: dict[str, Any]) -> str:
    dist = st.get("dist", "")
    if dist == "uniform":
        return f"uniform {st['min_ms']:g}-{st['max_ms']:g} ms"
    if dist == "empirical":
        samples = st.get("samples_ms") or []
        mean = sum(samples) / len(samples) if samples else 0.0
        return f"empirical, {len(samples):,} sample" + ("" if len(samples) == 1 else "s") + f", mean {mean:.4g} ms"
    extra = "".join(f", {k.replace('_ms', '')} {v:g}" + (" ms" if k.endswith("_ms") else "")
                    for k, v in st.items() if k not in ("dist", "mean_ms"))
    return f"{dist} mean {st.get('mean_ms', 0):g} ms{extra}"


def _edge_text(e: Any) -> str:
    parts = [f"{e.source} → {e.target}"]
    if e.probability < 1:
        parts.append(f"p={e.probability:g}")
    if e.when != "always":
        parts.append(f"on a {e.when}")
    if e.latency_ms:
        parts.append(f"{e.latency_ms:g} ms each way")
    return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


def _workload_section(s: Scenario, run: "Results", rep: ReplicationResult) -> str:
    w = s.workload
    if w.users is not None:
        arrivals = f"closed loop: {w.users:,} users, each thinking {w.think_time_ms:g} ms on average between requests"
    else:
        arrivals = f"open, {w.arrival} arrivals at {w.rate_rps:,g} requests/s"
    rows = [["entry", w.entry], ["arrivals", arrivals],
            ["duration", f"{w.duration_s:g} simulated s" + (f", the first {w.warmup_s:g} s left out as warm-up"
                                                           if w.warmup_s else "")],
            ["SLO", f"{w.slo_ms:g} ms (goodput = share of arrivals completed within it)" if w.slo_ms
             else "none (goodput = share of arrivals completed)"]]
    if w.profile is not None:
        rows.append(["load profile", ", ".join(f"{k}: {v}" for k, v in w.profile.model_dump(mode="json").items())])
    a = run.analysis
    n = len(rep.runs)
    lines = ["## Workload and assumptions", "", markdown_table(["", "setting"], rows, numbers=False), "",
             "Assumptions of the model:", "",
             "- Calls are synchronous (thread per request): a caller's worker is held until its callee answers; "
             "each replica queues waiting calls first come, first served, up to its queue limit.",
             "- Service times are drawn from the stated distributions; network delay is the edges' `latency_ms`.",
             f"- Each run is one sample. {n} runs with different seeds are independent; an interval is "
             f"mean ± t(0.975, {n - 1}) x s / sqrt({n}) over the runs' figures (Student t, {n - 1} degrees of "
             "freedom), so it covers the long-run value about 95% of the time.",
             "- Percentiles come from log-bucketed histograms (at most 1% relative error).",
             f"- Queueing theory (M/M/c with the Allen-Cunneen correction) puts saturation at "
             f"{a.saturation_rps:,.0f} requests/s" + (f", {a.first_to_saturate} first" if a.first_to_saturate else "")
             + "."]
    warnings = [f for f in a.findings if f.level == "warning"]
    if warnings:
        lines += ["", "The analysis warns:", ""] + [f"- {f.message}" for f in warnings]
    return "\n".join(lines)


def _figures_section(folder: Path, rep: ReplicationResult, cmp_: ComparisonResult | None, run_a: "Results",
                     run_b: "Results | None") -> str:
    header, rows = rep.table()
    lines = [f"## Figures over {len(rep.runs)} runs", "", markdown_table(header, rows), ""]
    reps = [("A", rep, _A_COLOUR)] + ([("B", cmp_.b, _B_COLOUR)] if cmp_ is not None else [])
    _save(_latency_chart(reps), folder / "latency.png")
    lines += [f"![Latency, mean and percentiles, with {rep.confidence:.0%} intervals](latency.png)", ""]
    runs = [("A", run_a, _A_COLOUR)] + ([("B", run_b, _B_COLOUR)] if run_b is not None else [])
    _save(_series_chart(runs), folder / "series.png")
    lines.append(f"![p99 and throughput, second by second, in the run with seed {run_a.seed}](series.png)")
    return "\n".join(lines)


def _comparison_section(folder: Path, a: Scenario, b: Scenario, cmp_: ComparisonResult, run_b: "Results") -> str:
    changed = _differences(a.to_dict(), b.to_dict())
    n = len(cmp_.seeds)
    lines = ["## A/B comparison", "",
             f"A is {md_text(a.name)}; B is {md_text(b.name)}. Both ran with the same {n} seeds: the arrivals and every unchanged "
             "node drew the same random numbers, so each seed's B - A is measured on identical traffic and the "
             f"interval of B - A is a paired Student t interval ({n - 1} degrees of freedom).", ""]
    if changed:
        shown = changed[:25]
        lines += ["What B changes:", "",
                  markdown_table(["setting", "A", "B"], [[p, _short(x), _short(y)] for p, x, y in shown],
                                 numbers=False)]
        if len(changed) > len(shown):
            lines.append(f"\n(and {len(changed) - len(shown)} more settings)")
        lines.append("")
    header, rows = cmp_.table()
    lines += [markdown_table(header, rows), "",
              f"better / worse / changed: the interval of B - A excludes 0, a real difference at "
              f"{cmp_.confidence:.0%} confidence.", "",
              f"**Verdict**: {cmp_.verdict}", ""]
    _save(_delta_chart(cmp_), folder / "difference.png")
    lines += [f"![B - A for each latency figure, with paired {cmp_.confidence:.0%} intervals](difference.png)", ""]
    lines.append(_design_section(folder, "diagram_b", b, run_b, "Design B").replace("## Design B", "### Design B"))
    return "\n".join(lines)


def _sweep_section(folder: Path, sw: SweepResult) -> str:
    shape = " and ".join(f"`{a.path}` ({len(a.values)} values)" for a in sw.axes)
    lines = ["## Sweep", "",
             f"{shape}, {len(sw.seeds)} runs at every point, the same seeds at each (so neighbouring points "
             "see the same traffic). The **knee** is the first point, walking the way latency worsens, where p99 "
             f"exceeds {sw.knees[0].factor:g}x the best p99 on the curve: past it, waiting in queues costs "
             "more than the service itself.", "", markdown_table(*sw.table()), ""]
    lines += [f"- {k.sentence()}" for k in sw.knees]
    _save(_sweep_chart(sw), folder / "sweep_latency.png")
    lines += ["", f"![p50 and p99 against {sw.axes[0].path}, knee marked](sweep_latency.png)"]
    if any(p.pareto for p in sw.points):
        _save(_pareto_chart(sw), folder / "sweep_pareto.png")
        res = label(sw.resource, unit=True)
        lines += ["", f"The Pareto frontier joins the designs that no other design beats on both {res} and p99 "
                      "(at the same load).", "",
                  f"![{res} against p99, the Pareto frontier joined](sweep_pareto.png)"]
    return "\n".join(lines)


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Dotted paths whose values differ between two scenario dicts."""
    out: list[tuple[str, Any, Any]] = []
    for key in list(dict.fromkeys([*a, *b])):
        path = f"{prefix}{key}"
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _differences(x, y, path + ".")
        elif x != y:
            out.append((path, "-" if x is None else x, "-" if y is None else y))
    return out


def _fig(rep: ReplicationResult, key: str) -> str:
    return format_estimate(key, rep.figures[key]) if key in rep.figures else "n/a"


# ── charts ───────────────────────────────────────────────────────────────────

def _figure(width: float = 7.0, height: float = 3.6) -> "Figure":
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(fig: "Figure", path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png")


def _errors(ests: list[Any]) -> list[float]:
    return [e.half_width or 0.0 for e in ests]


def _latency_chart(reps: list[tuple[str, ReplicationResult, str]]) -> "Figure":
    fig = _figure()
    ax = fig.add_subplot()
    keys = [k for k in _LATENCY if all(k in r.figures for _, r, _ in reps)]
    width = 0.8 / len(reps)
    for j, (name, rep, colour) in enumerate(reps):
        ests = [rep.figures[k] for k in keys]
        xs = [i + (j - (len(reps) - 1) / 2) * width for i in range(len(keys))]
        ax.bar(xs, [e.mean for e in ests], width, yerr=_errors(ests), capsize=4, color=colour,
               label=f"{name}: {rep.scenario}")
    ax.set_xticks(range(len(keys)), [FIGURES[k].label for k in keys])
    ax.set_ylabel("ms")
    ax.set_title(f"Latency over {len(reps[0][1].runs)} runs ({reps[0][1].confidence:.0%} intervals)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _series_chart(runs: list[tuple[str, "Results", str]]) -> "Figure":
    fig = _figure(7.0, 4.6)
    top, bottom = fig.subplots(2, 1, sharex=True)
    for name, r, colour in runs:
        t = r.series.get("t_s", [])
        top.plot(t, r.series.get("p99_ms", []), color=colour, lw=1.2, label=f"{name}: {r.scenario}")
        bottom.plot(t, r.series.get("throughput_rps", []), color=colour, lw=1.2)
    slo = runs[0][1].slo_ms
    if slo:
        top.axhline(slo, color="#c44e52", ls="--", lw=1, label=f"SLO {slo:g} ms")
    top.set_ylabel("p99 ms")
    top.set_title(f"Each simulated second, seed {runs[0][1].seed}")
    top.legend(loc="upper left", fontsize=8)
    bottom.set_ylabel("throughput rps")
    bottom.set_xlabel("simulated time, s")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return fig


def _delta_chart(cmp_: ComparisonResult) -> "Figure":
    fig = _figure(7.0, 3.0)
    ax = fig.add_subplot()
    keys = [k for k in _LATENCY if k in cmp_.deltas]
    diffs = [cmp_.deltas[k].diff for k in keys]
    colours = ["#55a868" if d.high < 0 else "#c44e52" if d.low > 0 else "#8c8c8c" for d in diffs]
    ax.barh(range(len(keys)), [d.mean for d in diffs], xerr=_errors(diffs), capsize=4, color=colours)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(keys)), [FIGURES[k].label for k in keys])
    ax.invert_yaxis()
    ax.set_xlabel(f"{cmp_.b_name} - {cmp_.a_name}, ms (paired, {cmp_.confidence:.0%} intervals)")
    ax.set_title("Green: B is faster; red: B is slower; grey: no clear difference")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _sweep_chart(sw: SweepResult) -> "Figure":
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot()
    axis = sw.axes[0]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis.values)
    for c, ((fixed, curve), kn) in enumerate(zip(sw.curves(), sw.knees)):
        colour = f"C{c % 10}"
        xs = [p.settings[axis.path] if numeric else i for i, p in enumerate(curve)]
        tag = "".join(f" ({k.rsplit('.', 1)[-1]} {show_value(v)})" for k, v in fixed.items())
        for key, style in (("latency_ms.p99", "-"), ("latency_ms.p50", ":")):
            if all(key in p.figures for p in curve):
                ests = [p.figures[key] for p in curve]
                ax.errorbar(xs, [e.mean for e in ests], yerr=_errors(ests), ls=style, marker="o", ms=3,
                            capsize=3, color=colour, label=f"{FIGURES[key].label}{tag}")
        if kn.index is not None:
            ax.plot([xs[kn.index]], [kn.y or 0.0], marker="X", ms=11, color=colour, mec="black", ls="none",
                    label=f"knee{tag}")
            if len(sw.knees) == 1:
                ax.axvline(xs[kn.index], color=colour, ls="--", lw=1)
    if not numeric:
        ax.set_xticks(range(len(axis.values)), [str(v) for v in axis.values])
    elif all(isinstance(v, int) for v in axis.values) and len(axis.values) <= 20:
        ax.set_xticks(axis.values, [str(v) for v in axis.values])
    ax.set_xlabel(axis.path)
    ax.set_ylabel("latency, ms")
    if ax.get_ylim()[1] / max(1e-9, max(0.01, ax.get_ylim()[0])) > 50:
        ax.set_yscale("log")
    ax.set_title(f"Latency against {axis.name}, {len(sw.seeds)} runs per point")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def _pareto_chart(sw: SweepResult) -> "Figure":
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    pts = [p for p in sw.points if "latency_ms.p99" in p.figures]
    xs = [p.figures[sw.resource].mean for p in pts]
    ys = [p.figures["latency_ms.p99"].mean for p in pts]
    ax.scatter(xs, ys, s=18, color="#8c8c8c", label="designs")
    load = [a.path for a in sw.axes if a.path.startswith("workload.")]
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for p in pts:
        if p.pareto:
            groups.setdefault(tuple(p.settings[k] for k in load), []).append(p)
    for c, (key, front) in enumerate(groups.items()):
        front.sort(key=lambda p: p.figures[sw.resource].mean)
        tag = ", ".join(f"{k.rsplit('.', 1)[-1]} {v}" for k, v in zip(load, key))
        ax.plot([p.figures[sw.resource].mean for p in front], [p.figures["latency_ms.p99"].mean for p in front],
                "o-", color=f"C{c % 10}", label="Pareto frontier" + (f" ({tag})" if tag else ""))
        for p in front:
            text = ", ".join(f"{a.name} {p.settings[a.path]}" for a in sw.axes if not a.path.startswith("workload."))
            ax.annotate(text, (p.figures[sw.resource].mean, p.figures["latency_ms.p99"].mean),
                        textcoords="offset points", xytext=(5, 4), fontsize=7)
    finite = [y for y in ys if math.isfinite(y) and y > 0]
    if finite and max(finite) / min(finite) > 50:
        ax.set_yscale("log")
    ax.set_xlabel(label(sw.resource, unit=True))
    ax.set_ylabel("p99 ms")
    ax.set_title(f"{label(sw.resource).capitalize()} against p99")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
