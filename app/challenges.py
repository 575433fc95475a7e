"""Challenges: the campaign, a brief, predictions, the grader's verdict, hints, the lesson.

The player opens the starter design in the builder, changes what the challenge
allows, predicts before running, and asks for a grade: the grader runs the
design once per challenge seed and every objective must hold in every run.
Progress (passes, stars, hints revealed, predictions, the last grade) is kept
in the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

import sandbox
from sandbox import edit
from sandbox.challenges import challenge_of, design as solution_of, grade as grade_design
from sandbox.store import Progress

from app import state, widgets
from app.text import md


def _stars(n: int) -> str:
    return "★" * n + "☆" * (3 - n)


# ── actions ──────────────────────────────────────────────────────────────────

def _more_hints(challenge_id: str, shown: int) -> None:
    state.store().save_progress(state.workspace(), challenge_id, hints=shown + 1)


def _open(challenge_id: str, which: str) -> None:
    """Open the player's design for the challenge, or a fresh starter or solution, in the builder."""
    mine = state.store().challenge_design(state.workspace(), challenge_id)
    if which == "mine" and mine is not None:
        state.open_saved(mine.id)
        return
    path = dict(state.campaign())[challenge_id]
    data = edit.challenge_design(path, "solution" if which == "solution" else "starter")
    state.open_new(data, challenge=challenge_id)


# ── inputs ───────────────────────────────────────────────────────────────────

def campaign_ui(entries: list[tuple[str, str]], progress: dict[str, Progress]) -> str:
    """The campaign by level, with the player's progress; returns the chosen challenge's id."""
    ids = [cid for cid, _ in entries]
    scenarios = {cid: state.challenge_scenario(cid) for cid in ids}
    passed = sum(1 for cid in ids if progress.get(cid, Progress(cid)).passed)
    stars = sum(progress.get(cid, Progress(cid)).stars for cid in ids)
    st.markdown(f"**Campaign**: {passed} of {len(ids)} passed, {stars} of {3 * len(ids)} stars")
    if st.session_state.get("challenge_pick") not in ids:
        current = state.challenge_id()
        st.session_state["challenge_pick"] = current if current in ids else ids[0]

    def label(cid: str) -> str:
        found = scenarios[cid]
        if found is None:
            return cid
        ch = challenge_of(found)
        return f"Level {ch.level} · {ch.title}"

    captions = []
    for cid in ids:
        p = progress.get(cid, Progress(cid))
        captions.append(f"{_stars(p.stars)} passed" if p.passed else "not passed yet")
    return st.radio("Challenge", ids, key="challenge_pick", format_func=label, captions=captions,
                    label_visibility="collapsed")


def predictions_ui(challenge_id: str, ch: Any, saved: dict[str, float], can_grade: bool) -> dict[str, float] | None:
    """Predictions asked before the run, and the Grade button; the predictions when pressed."""
    with st.form(f"grade_form.{challenge_id}"):
        if ch.predict:
            st.markdown("**Predict before you run** (scored against the simulation)")
        values = {}
        for p in ch.predict:
            values[p.id] = st.number_input(p.question, value=saved.get(p.id), placeholder="your guess",
                                           format="%g", key=f"predict.{challenge_id}.{p.id}",
                                           help=f"right within {p.tolerance:.0%}")
        pressed = st.form_submit_button("Grade my design", type="primary", icon=":material/grading:",
                                        disabled=not can_grade)
    if not pressed:
        return None
    return {k: float(v) for k, v in values.items() if v is not None}


# ── outputs ──────────────────────────────────────────────────────────────────

def show_brief(ch: Any) -> None:
    """The story, the objectives and the rules."""
    st.markdown(ch.brief)
    st.markdown("**Objectives** (each must hold in every one of "
                f"{len(ch.seeds)} runs, seeds {', '.join(map(str, ch.seeds))})")
    st.markdown("\n".join(f"- `{o.text()}`" + (f": {o.label}" if o.label else "") for o in ch.objectives))
    c = ch.constraints
    rules = [f"you may change {', '.join(f'`{p}`' for p in c.editable)}",
             f"you may add {', '.join(c.add_kinds)}" if c.add_kinds else "you may not add components"]
    if c.may_remove:
        rules.append("you may remove starter components")
    if c.max_replicas:
        rules.append(f"at most {c.max_replicas} replicas of any node")
    if c.budget_per_hour:
        rules.append(f"a budget of ${c.budget_per_hour:.2f} per hour")
    for kind, template in c.templates.items():
        rules.append(f"an added {kind.replace('_', ' ')} is a copy of `{template}` "
                     f"(you may set only {', '.join(c.template_free)})")
    st.markdown("**Rules**: " + "; ".join(rules) + ".")


def show_grade(g: dict[str, Any]) -> None:
    """The verdict: pass or fail, each objective with its figures and the cause of a failure."""
    n = len(g.get("seeds") or [])
    if g["passed"]:
        st.success(f"**Passed {_stars(g['stars'])}**: every objective met in all {n} runs. "
                   "Stars: one for the pass, one for a design within 80% of the budget (or no dearer than the "
                   "reference), one for predictions within their tolerance.", icon=":material/military_tech:")
    else:
        st.error(f"**Not yet** (score {g['score']}/100): the design below misses what is marked ✗.",
                 icon=":material/cancel:")
    for v in g.get("violations") or []:
        st.warning(f"Rule broken: {md(v)}", icon=":material/block:")
    rows = [{"objective": o["objective"], "result": "✓ pass" if o["passed"] else "✗ fail",
             "mean": o["value"], "worst run": o["worst"],
             "runs": ", ".join("—" if v is None else f"{v:,.4g}" for v in o["runs"])} for o in g["objectives"]]
    st.dataframe(rows, hide_index=True, column_config={
        "mean": st.column_config.NumberColumn(format="%.4g"),
        "worst run": st.column_config.NumberColumn(format="%.4g")})
    for o in g["objectives"]:
        if not o["passed"] and o.get("cause"):
            st.error(f"**{o['objective']}**: {o['cause']}", icon=":material/error:")
    if g.get("predictions"):
        st.markdown("**Your predictions**")
        st.dataframe([{"question": p["question"], "your guess": p["guess"], "simulated": p["actual"],
                       "off by": p["relative_error"], "right": "✓" if p["right"] else "✗"}
                      for p in g["predictions"]], hide_index=True, column_config={
            "off by": st.column_config.NumberColumn(format="percent"),
            "simulated": st.column_config.NumberColumn(format="%.4g")})
    st.caption(f"The design costs ${g['cost_per_hour']:.2f} per hour. First run's bottleneck: {g['bottleneck']}.")


def show_hints(challenge_id: str, hints: list[str], shown: int) -> None:
    """Hints revealed so far, and a button for the next."""
    st.markdown("**Hints**")
    for k, h in enumerate(hints[:shown], 1):
        st.info(f"Hint {k}: {h}", icon=":material/lightbulb:")
    if shown < len(hints):
        st.button(f"Show a hint ({shown + 1} of {len(hints)})", key=f"hint.{challenge_id}",
                  on_click=_more_hints, args=(challenge_id, shown), icon=":material/lightbulb:")
    else:
        st.caption("No more hints.")


def show_lesson(challenge_id: str, scenario: sandbox.Scenario, passed: bool) -> None:
    """The lesson and the reference solution: after a pass, or on request."""
    ch = challenge_of(scenario)
    shown = passed or st.toggle("Show the lesson and the reference solution", key=f"reveal.{challenge_id}",
                                help="you can still pass afterwards")
    if not shown:
        return
    st.markdown("**The lesson**")
    st.markdown(ch.lesson)
    st.markdown("**The reference solution**")
    solution = solution_of(scenario, "solution")
    left, right = st.columns(2)
    with left:
        sol = edit.challenge_design(dict(state.campaign())[challenge_id], "solution")
        st.code(edit.to_yaml({"nodes": sol["nodes"], "edges": sol.get("edges", [])}), language="yaml", wrap_lines=True)
    with right:
        widgets.diagram_chart(lambda: sandbox.to_dot(solution), width="stretch")
    if st.button("Open the solution in the builder", key=f"open_solution.{challenge_id}"):
        _open(challenge_id, "solution")
        st.switch_page("app/build.py")


# ── the page ─────────────────────────────────────────────────────────────────

def run_grade(challenge_id: str, scenario: sandbox.Scenario, data: dict[str, Any],
              predictions: dict[str, float]) -> None:
    """Grade the player's design (runs cached by YAML and seed) and record the verdict."""
    ws = state.workspace()
    state.store().save_progress(ws, challenge_id, predictions=predictions)
    problems = edit.problems(data)
    if problems:
        widgets.show_problems(problems)
        return
    design = sandbox.from_dict(data)
    text = design.to_yaml()
    bar = widgets.ProgressBar("Grading", parts=len(challenge_of(scenario).seeds))

    def one_run(_design: sandbox.Scenario, seed: int) -> sandbox.Results:
        """The grader's run for `seed`: this server's cached, limited run, drawn on the progress bar."""
        result = state.simulate_cached(text, seed, progress=bar)
        bar.next_part()
        return result

    try:
        verdict = grade_design(design, scenario, predictions, simulate=one_run)
    except sandbox.SimulationError as exc:
        st.error(f"**The grading run was stopped: {md(exc)}.**", icon=":material/timer_off:")
        return
    finally:
        bar.close()
    state.store().save_progress(ws, challenge_id, grade=verdict.to_dict())
    st.rerun()  # draw the page again from the store: the campaign's progress too


def show_challenge(challenge_id: str) -> None:
    ws = state.workspace()
    scenario = state.challenge_scenario(challenge_id)
    if scenario is None:
        st.error(f"There is no challenge {md(challenge_id)}.", icon=":material/error:")
        return
    ch = challenge_of(scenario)
    st.header(ch.title, anchor=False)
    st.caption(f"Level {ch.level}")
    show_brief(ch)
    mine = state.store().challenge_design(ws, challenge_id)
    with st.container(border=True):
        if mine is None:
            st.markdown("Start from the starter design: it fails, and the grader will say why.")
            if st.button("Open the starter design in the builder", type="primary", icon=":material/construction:",
                         key=f"open_starter.{challenge_id}"):
                _open(challenge_id, "starter")
                st.switch_page("app/build.py")
        else:
            st.markdown(f"Your design: **{md(mine.name)}**, changed {datetime.fromtimestamp(mine.updated):%d %b %H:%M}.")
            c1, c2 = st.columns(2)
            if c1.button("Open it in the builder", icon=":material/construction:", key=f"open_mine.{challenge_id}"):
                _open(challenge_id, "mine")
                st.switch_page("app/build.py")
            if c2.button("Start over from the starter", key=f"restart.{challenge_id}"):
                _open(challenge_id, "starter")
                st.switch_page("app/build.py")
    progress = state.store().progress(ws, challenge_id)
    predictions = predictions_ui(challenge_id, ch, progress.predictions, mine is not None)
    if predictions is not None and mine is not None:
        run_grade(challenge_id, scenario, mine.data, predictions)
    if progress.last_grade:
        show_grade(progress.last_grade)
    show_hints(challenge_id, ch.hints, progress.hints)
    show_lesson(challenge_id, scenario, progress.passed)


def page() -> None:
    widgets.show_flash("challenges")
    st.title("Challenges", anchor=False)
    entries = state.campaign()
    if not entries:
        st.info("No challenges are installed (scenarios/challenges/*.yaml).")
        return
    progress = state.store().all_progress(state.workspace())
    left, right = st.columns([1, 3], gap="large")
    with left:
        challenge_id = campaign_ui(entries, progress)
    with right:
        show_challenge(challenge_id)


if __name__ == "__main__":
    page()
