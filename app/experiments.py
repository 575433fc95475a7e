"""Experiments: many runs of the current design, so a difference can be told from noise.

Three parts over the design from the builder:

- **Compare**: design B is this design (or a preset, or a saved design) with
  ``PATH=VALUE`` changes; N paired runs on identical traffic give the deltas
  with 95% intervals and a verdict (:func:`sandbox.experiments.compare`).
- **Sweep**: one setting ``PATH=START:STOP:STEPS``, N runs per point, p99
  against the setting with its knee (:func:`sandbox.experiments.sweep`).
- **Design review**: the Markdown report (:mod:`sandbox.report_md`) for the
  design, with the comparison and sweep when they were run, as a .zip of
  report.md and its images or as the .md alone.

Controls sit in forms, so nothing runs until asked. Experiments run in this
process (``workers=1``), cached by the scenarios' YAML text and the settings;
the session keeps only what was asked for (one slot per experiment, cleared
when another design is opened), and the results come back from the cache.
"""

from __future__ import annotations

import functools
import io
import tempfile
import time
import zipfile
from datetime import datetime
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import streamlit as st

import sandbox
from sandbox import edit, share
from sandbox.engine import check_limits
from sandbox.experiments import ComparisonResult, ReplicationResult, RunOptions, SweepResult, variant
from sandbox.experiments.runs import Cancel, Progress
from sandbox.report_md import Experiments, design_review
from sandbox.scenario import with_overrides
from sandbox.settings import SweepAxis, parse_range, parse_setting

from app import state, widgets
from app.sensitivity_view import sensitivity_ui
from app.text import md

MAX_RUNS = 20     # per design (compare) or per point (sweep): the app is for small experiments
MAX_POINTS = 12   # sweep points
THIS_DESIGN = "This design"


# ── cached experiments (keyed by text and settings, never by session) ───────

def _scenario(text: str) -> sandbox.Scenario:
    return sandbox.loads(text, source="<design>")


def _one_thread() -> ThreadPoolExecutor:
    """One run at a time, in this process (like ``workers=1``), but finishing one by one so progress can show.

    (The in-process executor of ``workers=1`` runs every task as it is submitted,
    so its progress would jump from 0 to the end.)
    """
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-experiment-run")


@st.cache_data(max_entries=50, show_spinner=False)
def _compare(a_yaml: str, b_yaml: str, n: int, seed: int, _progress: Progress | None = None,
             _cancel: Cancel | None = None) -> ComparisonResult:
    with state.run_slot(), _one_thread() as ex:
        return sandbox.compare(_scenario(a_yaml), _scenario(b_yaml), n, seed=seed,
                               run=RunOptions(executor=ex, progress=_progress, limits=state.limits(), cancel=_cancel))


@st.cache_data(max_entries=50, show_spinner=False)
def _sweep(a_yaml: str, axis: str, n: int, seed: int, _progress: Progress | None = None,
           _cancel: Cancel | None = None) -> SweepResult:
    with state.run_slot(), _one_thread() as ex:
        return sandbox.sweep(_scenario(a_yaml), [axis], n, seed=seed,
                             run=RunOptions(executor=ex, progress=_progress, limits=state.limits(), cancel=_cancel))


@st.cache_data(max_entries=50, show_spinner=False)
def _replicate(a_yaml: str, n: int, seed: int, _cancel: Cancel | None = None) -> ReplicationResult:
    with state.run_slot(), _one_thread() as ex:
        return sandbox.replicate(_scenario(a_yaml), n, seed=seed,
                                 run=RunOptions(executor=ex, limits=state.limits(), cancel=_cancel))


def _axis_text(axis: SweepAxis) -> str:
    return f"{axis.path}=" + ",".join(str(v) for v in axis.values)


@st.cache_data(max_entries=20, show_spinner=False)
def _review(a_yaml: str, compare_req: tuple[str, int, int] | None, sweep_req: tuple[str, int] | None,
            n: int, seed: int, as_zip: bool, _cancel: Cancel | None = None) -> bytes:
    """The design review as a .zip (report.md and its images) or as report.md's text.

    The library writes it (:func:`sandbox.report_md.design_review`); its runs come from this
    page's caches, so a comparison or sweep already shown is not run again.
    """
    a = _scenario(a_yaml)
    b, run_n, first = None, n, seed
    texts = {id(a): a_yaml}
    if compare_req is not None:
        b_yaml, run_n, first = compare_req
        b = _scenario(b_yaml)
        texts[id(b)] = b_yaml
    text = lambda s: texts.get(id(s)) or s.to_yaml()   # the very texts the page's caches are keyed by
    runs = Experiments(
        simulate=lambda s, k: state.simulate_here(text(s), k, _cancel),
        replicate=lambda s, runs_n, k: _replicate(text(s), runs_n, k, _cancel=_cancel),
        compare=lambda x, y, runs_n, k: _compare(text(x), text(y), runs_n, k, _cancel=_cancel),
        sweep=lambda s, axes, runs_n, k: _sweep(text(s), sweep_req[0] if sweep_req else _axis_text(axes[0]),
                                               runs_n, k, _cancel=_cancel))
    axes = [parse_range(sweep_req[0])] if sweep_req is not None else []
    with tempfile.TemporaryDirectory(prefix="sandbox-review-") as tmp:
        path = design_review(a, tmp, n=run_n, seed=first, b=b, sweep_axes=axes,
                             sweep_runs=sweep_req[1] if sweep_req is not None else None, experiments=runs)
        if not as_zip:
            return path.read_bytes()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(Path(tmp).rglob("*")):
                if f.is_file():
                    zf.write(f, f"design-review/{f.relative_to(tmp)}")
        return buf.getvalue()


def _with_progress(label: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call a cached experiment in a worker thread and draw its progress (runs done) from this one.

    The cached function only records how far it is, so the cache never records
    a Streamlit element to replay (as in :func:`app.state.simulate_cached`). The
    bar appears once the experiment has taken longer than widgets.PROGRESS_AFTER_S.
    The experiment stops when the visitor leaves, and past this server's wall-time
    limit for an experiment (:func:`app.state.in_background`).
    """
    done = [0, 0]
    slot, t0 = st.empty(), time.perf_counter()
    bar: list[Any] = []

    def tick() -> None:
        if time.perf_counter() - t0 < widgets.PROGRESS_AFTER_S:
            slot.empty()
            return
        k, total = done
        text = f"{label}: {k} of {total} runs done" if total else f"{label}: starting"
        share = k / total if total else 0.0
        if bar:
            bar[0].progress(share, text=text)
        else:
            bar.append(slot.progress(share, text=text))

    try:
        return state.in_background(fn, *args, on_tick=tick, deadline_s=state.max_experiment_wall_s(),
                                   what="experiment", _progress=lambda k, total: done.__setitem__(slice(None), [k, total]))
    finally:
        slot.empty()


# ── inputs ───────────────────────────────────────────────────────────────────

def _error(exc: sandbox.SandboxError) -> None:
    """A library error as a message, never a traceback."""
    problems = getattr(exc, "problems", None)
    if problems:
        st.error(widgets.problem_lines(problems), icon=":material/error:")
    else:
        st.error(md(exc), icon=":material/error:")


def _check_runs(n: int) -> None:
    if n < 2:
        raise sandbox.ScenarioError("runs", [("", f"a confidence interval needs at least 2 runs, got {n}")])
    if n > MAX_RUNS:
        raise sandbox.ScenarioError("runs", [("", f"at most {MAX_RUNS} runs here, got {n}")])


def _check_size(scenario: sandbox.Scenario, where: str = "") -> None:
    """Refuse, before anything runs, a design this server would not run: the engine's own check (requests at
    the load's peak, calls per request, nodes, users), so a form and the Run page never disagree."""
    try:
        check_limits(scenario, state.limits())
    except sandbox.SimulationError as exc:
        raise sandbox.ScenarioError("size", [(where or "workload", str(exc))]) from None


def _with_duration(data: dict[str, Any], duration: float | None) -> dict[str, Any]:
    return edit.with_load(data, duration_s=float(duration)) if duration else data


def parse_changes(text: str) -> dict[str, Any]:
    """``PATH=VALUE`` lines as a dict of changes; ScenarioError naming every bad line."""
    changes, problems = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            path, value = parse_setting(line)
        except sandbox.ScenarioError as exc:
            problems += exc.problems or [(line, str(exc))]
            continue
        changes[path] = value
    if problems:
        raise sandbox.ScenarioError("changes", problems)
    return changes


def _preset(path: str) -> dict[str, Any]:
    return sandbox.load(path).to_dict()


def _saved(data: Any) -> dict[str, Any]:
    return share.drawable(data)[0]


def _b_sources() -> dict[str, Callable[[], dict[str, Any]]]:
    """Where design B may start: this design, a preset, or another saved design of this workspace."""
    out: dict[str, Callable[[], dict[str, Any]]] = {THIS_DESIGN: lambda: state.design()}
    for name, path in state.presets().items():
        out[f"Preset: {name}"] = functools.partial(_preset, path)
    for rec in state.store().designs(state.workspace()):
        if rec.id != state.design_id():
            # a design an older version stored may be any shape: drawable() keeps what can be used
            out[f"Saved: {rec.name or 'Untitled design'} ({datetime.fromtimestamp(rec.updated):%d %b %H:%M:%S})"] = \
                functools.partial(_saved, rec.data)
    return out


def compare_form_ui(data: dict[str, Any]) -> dict[str, Any] | None:
    """The compare controls; the request (scenario texts and settings) when the player presses Compare.

    Raises ScenarioError for changes that do not parse or do not fit the design.
    """
    sources = _b_sources()
    with st.form("exp_compare_form"):
        source = st.selectbox("Design B starts from", list(sources), key="exp.compare.source",
                              help="B is this design, a preset or a saved design, with the changes below")
        text = st.text_area("Changes for B, one `PATH=VALUE` a line", key="exp.compare.changes",
                            placeholder="nodes.web.replicas=4\nnodes.db.workers=16", height=100)
        c = st.columns(3)
        n = c[0].number_input("Runs per design", value=5, min_value=1, max_value=MAX_RUNS, step=1,
                              key="exp.compare.n", help="paired runs on identical traffic (at least 2)")
        duration = c[1].number_input("Duration (s)", value=float((data.get("workload") or {}).get("duration_s") or 60),
                                     min_value=1.0, step=10.0, format="%g", key="exp.compare.duration",
                                     help="simulated seconds of every run, for both designs")
        seed = c[2].number_input("First seed", value=int(data.get("seed") or 0), min_value=0, step=1,
                                 key="exp.compare.seed")
        submitted = st.form_submit_button("Compare", type="primary", icon=":material/compare_arrows:")
    if not submitted:
        return None
    _check_runs(int(n))
    changes = parse_changes(text)
    a = sandbox.from_dict(_with_duration(data, duration), source="<design>")
    if source == THIS_DESIGN:
        if not changes:
            raise sandbox.ScenarioError("changes", [("", "enter at least one PATH=VALUE change for design B")])
        b = variant(a, changes)
    else:
        base = sandbox.from_dict(_with_duration(sources[source](), duration), source=source)
        b = variant(base, changes)
    _check_size(a, "A")
    _check_size(b, "B")
    return {"a": a.to_yaml(), "b": b.to_yaml(), "n": int(n), "seed": int(seed), "design": edit.to_yaml(data)}


def sweep_form_ui(data: dict[str, Any]) -> dict[str, Any] | None:
    """The sweep controls; the request when the player presses Sweep (ScenarioError for a bad range)."""
    rate = (data.get("workload") or {}).get("rate_rps")
    example = f"workload.rate_rps={int(rate or 50)}:{int((rate or 50) * 4)}:6"
    with st.form("exp_sweep_form"):
        axis = st.text_input("Setting to sweep, `PATH=START:STOP:STEPS` (or `PATH=V1,V2,...`)",
                             key="exp.sweep.axis", placeholder=example)
        c = st.columns(3)
        n = c[0].number_input("Runs per point", value=3, min_value=1, max_value=MAX_RUNS, step=1, key="exp.sweep.n")
        duration = c[1].number_input("Duration (s)", value=float((data.get("workload") or {}).get("duration_s") or 60),
                                     min_value=1.0, step=10.0, format="%g", key="exp.sweep.duration")
        seed = c[2].number_input("First seed", value=int(data.get("seed") or 0), min_value=0, step=1,
                                 key="exp.sweep.seed")
        submitted = st.form_submit_button("Sweep", type="primary", icon=":material/stacked_line_chart:")
    if not submitted:
        return None
    _check_runs(int(n))
    text = axis.strip() or example
    points = len(parse_range(text).values)  # a bad range raises here, before anything runs
    if points > MAX_POINTS:
        raise sandbox.ScenarioError("sweep", [(text, f"at most {MAX_POINTS} points here, got {points}")])
    a = sandbox.from_dict(_with_duration(data, duration), source="<design>")
    axis_ = parse_range(text)
    for value in axis_.values:
        try:
            point = with_overrides(a, {axis_.path: value})
        except sandbox.ScenarioError:
            continue  # the sweep itself names a value that does not fit
        _check_size(point, f"{axis_.path}={value}")
    return {"yaml": a.to_yaml(), "axis": text, "n": int(n), "seed": int(seed), "design": edit.to_yaml(data)}


# ── results ──────────────────────────────────────────────────────────────────

def _changed_caption(slot: dict[str, Any], data: dict[str, Any]) -> None:
    if slot.get("design") != edit.to_yaml(data):
        st.caption("The design has changed since this experiment; run it again to see the effect.")


def show_compare(data: dict[str, Any]) -> ComparisonResult | None:
    slot = st.session_state.get("exp_compare")
    if slot is None:
        st.info("Describe design B above and press **Compare**.", icon=":material/compare_arrows:")
        return None
    try:
        result = _with_progress("Comparing", _compare, slot["a"], slot["b"], slot["n"], slot["seed"])
    except sandbox.SandboxError as exc:
        _error(exc)
        return None
    _changed_caption(slot, data)
    st.markdown(f"**A** = {md(result.a.scenario)}  \n**B** = {md(result.b.scenario)}")
    st.success(f"**Verdict:** {result.verdict}", icon=":material/gavel:")
    header, rows = result.table()
    st.dataframe([dict(zip(header, row)) for row in rows], hide_index=True)
    n = len(result.seeds)
    st.caption(f"{n} paired runs on identical traffic (seeds {result.seeds[0]}-{result.seeds[-1]}); "
               f"{result.confidence:.0%} intervals, paired Student t. **better** / **worse** / **changed**: "
               "the interval of B - A excludes 0.")
    return result


def _sweep_chart(result: SweepResult) -> Any:
    import altair as alt
    import pandas as pd
    axis = result.axes[0]
    curve = result.curve()
    knee = result.knees[0] if result.knees else None
    rows = []
    for i, p in enumerate(curve):
        e = p.figures.get("latency_ms.p99")
        if e is None:
            continue
        rows.append({"setting": p.settings[axis.path], "p99 ms": e.mean, "low": e.low, "high": e.high,
                     "knee": knee is not None and knee.index == i})
    df = pd.DataFrame(rows)
    numeric = all(isinstance(v, (int, float)) for v in df["setting"])
    x = alt.X("setting:Q" if numeric else "setting:N", title=axis.path)
    base = alt.Chart(df).encode(x=x)
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q", title="p99 ms"), y2="high:Q")
    line = base.mark_line(point=True).encode(y="p99 ms:Q", tooltip=["setting", "p99 ms", "low", "high"])
    layers = [band, line]
    if df["knee"].any():
        at = df[df["knee"]]
        layers.append(alt.Chart(at).mark_rule(color="#dd8452", strokeDash=[4, 4]).encode(x=x))
        layers.append(alt.Chart(at).mark_point(color="#dd8452", size=120, filled=True)
                      .encode(x=x, y="p99 ms:Q", tooltip=["setting", "p99 ms"]))
    return alt.layer(*layers)


def show_sweep(data: dict[str, Any]) -> SweepResult | None:
    slot = st.session_state.get("exp_sweep")
    if slot is None:
        st.info("Choose a setting above and press **Sweep**.", icon=":material/stacked_line_chart:")
        return None
    try:
        result = _with_progress("Sweeping", _sweep, slot["yaml"], slot["axis"], slot["n"], slot["seed"])
    except sandbox.SandboxError as exc:
        _error(exc)
        return None
    _changed_caption(slot, data)
    st.markdown(f"Sweep of `{slot['axis']}`, {len(result.seeds)} runs per point; the line is the mean p99, "
                f"the band its {result.confidence:.0%} interval.")
    st.altair_chart(_sweep_chart(result), width="stretch")
    for k in result.knees:
        st.caption(k.sentence())
    header, rows = result.table()
    st.dataframe([dict(zip(header, row)) for row in rows], hide_index=True)
    return result


def review_ui(data: dict[str, Any], compared: bool, swept: bool) -> None:
    """Build the design review on request, then offer it for download."""
    with st.form("exp_review_form"):
        c = st.columns([1.5, 1, 1])
        fmt = c[0].radio("Format", [".zip (report.md and its images)", "report.md alone"], key="exp.review.format",
                         horizontal=True)
        n = c[1].number_input("Runs (without a comparison)", value=3, min_value=2, max_value=MAX_RUNS, step=1,
                              key="exp.review.n")
        seed = c[2].number_input("First seed", value=int(data.get("seed") or 0), min_value=0, step=1,
                                 key="exp.review.seed")
        st.caption("The review includes the comparison and the sweep above, when they were run; "
                   "otherwise it replicates this design.")
        if st.form_submit_button("Prepare design review", icon=":material/description:"):
            st.session_state["exp_review"] = {"design": edit.to_yaml(data), "zip": fmt.startswith(".zip"),
                                              "n": int(n), "seed": int(seed)}
    slot = st.session_state.get("exp_review")
    if slot is None:
        return
    if slot["design"] != edit.to_yaml(data):
        st.caption("The design has changed since the review was prepared; prepare it again.")
        return
    cmp_slot = st.session_state.get("exp_compare") if compared else None
    sw_slot = st.session_state.get("exp_sweep") if swept else None
    a_yaml = cmp_slot["a"] if cmp_slot else sandbox.from_dict(data, source="<design>").to_yaml()
    try:
        with st.spinner("Writing the design review…"):
            blob = state.in_background(
                _review, a_yaml, (cmp_slot["b"], cmp_slot["n"], cmp_slot["seed"]) if cmp_slot else None,
                (sw_slot["axis"], sw_slot["n"]) if sw_slot and sw_slot["yaml"] == a_yaml else None,
                slot["n"], slot["seed"], slot["zip"], deadline_s=state.max_experiment_wall_s(), what="design review")
    except sandbox.SandboxError as exc:
        _error(exc)
        return
    stem = "".join(ch if ch.isalnum() else "-" for ch in str(data.get("name") or "design")).strip("-").lower()
    st.download_button("Download design review", blob, file_name=f"{stem or 'design'}-review"
                       + (".zip" if slot["zip"] else ".md"),
                       mime="application/zip" if slot["zip"] else "text/markdown", type="primary", on_click="ignore",
                       icon=":material/download:")


def page() -> None:
    widgets.show_flash("experiments")
    data = state.design()
    st.title("Experiments", anchor=False)
    st.caption(f"Design: **{md(data.get('name') or 'Untitled design')}**. Many runs under different seeds, each figure "
               f"a mean with its 95% interval; runs go one after another on this server, so keep them small.")
    problems = edit.problems(data)
    if problems:
        widgets.show_problems(problems)
        st.page_link("app/build.py", label="Fix them on the Build page", icon=":material/construction:")
        return
    st.subheader("Compare", anchor=False)
    try:
        request = compare_form_ui(data)
    except sandbox.SandboxError as exc:
        _error(exc)
    else:
        if request is not None:
            st.session_state["exp_compare"] = request
    compared = show_compare(data) is not None

    st.subheader("Sweep", anchor=False)
    try:
        request = sweep_form_ui(data)
    except sandbox.SandboxError as exc:
        _error(exc)
    else:
        if request is not None:
            st.session_state["exp_sweep"] = request
    swept = show_sweep(data) is not None

    st.subheader("Which setting matters", anchor=False)
    sensitivity_ui(data, _with_progress, _error)

    st.subheader("Design review", anchor=False)
    review_ui(data, compared, swept)


if __name__ == "__main__":
    page()
