"""The Experiments page's sensitivity part: pick settings, move each down and up, and see a tornado chart."""

from __future__ import annotations

from typing import Any, Callable

import altair as alt
import pandas as pd
import streamlit as st

import sandbox
from sandbox import edit
from sandbox.experiments import RunOptions, SensitivityResult
from sandbox.experiments.runs import Cancel, Progress
from sandbox.experiments.sensitivity import expand_settings

from app import state

__all__ = ["sensitivity_ui", "SETTING_PATTERNS"]

# the settings offered: what sizes a design (and its load)
SETTING_PATTERNS = ("nodes.*.replicas", "nodes.*.workers", "nodes.*.queue_limit", "nodes.*.capacity",
                    "nodes.*.partitions", "nodes.*.hit_ratio", "workload.rate_rps")
MAX_SETTINGS = 8


def offered_settings(data: dict[str, Any]) -> list[str]:
    """The design's numeric settings worth moving (each pattern's matches; none for a pattern the design lacks)."""
    found: list[str] = []
    for pattern in SETTING_PATTERNS:
        try:
            found += [p for p in expand_settings(data, [pattern]) if p not in found]
        except sandbox.ScenarioError:
            continue
    return found


@st.cache_data(max_entries=20, show_spinner=False)
def _sensitivity(a_yaml: str, paths: tuple[str, ...], by: float, n: int, seed: int,
                 _progress: Progress | None = None, _cancel: Cancel | None = None) -> SensitivityResult:
    from concurrent.futures import ThreadPoolExecutor
    with state.run_slot(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-experiment-run") as ex:
        return sandbox.sensitivity(sandbox.loads(a_yaml, source="<design>"), list(paths), by, n, seed=seed,
                                   run=RunOptions(executor=ex, progress=_progress, limits=state.limits(),
                                                  cancel=_cancel))


def tornado(result: SensitivityResult, figure: str = "latency_ms.p99") -> alt.Chart:
    """Each setting's effect on `figure` moved down (one colour) and up (the other), the largest swing on top."""
    rows = []
    for k in result.ranked:
        for side, effects, value in (("down", k.low_effect, k.low), ("up", k.high_effect, k.high)):
            e = effects.get(figure)
            if e is not None:
                rows.append({"setting": k.path, "moved": f"{side} (to {value:g})" if isinstance(value, (int, float))
                             else side, "side": side, "effect": e.mean})
    frame = pd.DataFrame(rows)
    order = [k.path for k in result.ranked]
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("setting:N", sort=order, title=None, scale=alt.Scale(domain=order),
                axis=alt.Axis(labelOverlap=False, labelLimit=260)),
        yOffset=alt.YOffset("side:N", scale=alt.Scale(domain=["down", "up"])),
        x=alt.X("effect:Q", stack=None, title=f"change in {figure.replace('latency_ms.', '')} against the design"),
        color=alt.Color("side:N", scale=alt.Scale(domain=["down", "up"], range=["#4c78a8", "#f58518"]),
                        title="setting moved"),
        tooltip=["setting", "moved", alt.Tooltip("effect:Q", format=",.2f")],
    ).properties(height=max(140, 56 * len(order)))


def sensitivity_ui(data: dict[str, Any], with_progress: Callable[..., Any],
                   error: Callable[[sandbox.SandboxError], None]) -> SensitivityResult | None:
    """The form (settings picked from the design, not typed), then the ranking and its tornado chart."""
    try:   # with the defaults filled in (a node without `replicas` has one, which can be moved)
        offered = offered_settings(sandbox.from_dict(data, source="<design>").to_dict())
    except sandbox.ScenarioError as exc:
        error(exc)
        return None
    if not offered:
        st.caption("This design has no numeric settings to move.")
        return None
    default = [p for p in offered if p.endswith((".workers", ".replicas"))][:MAX_SETTINGS]
    with st.form("exp_sensitivity_form"):
        paths = st.multiselect("Settings to move", offered, default=default, key="exp.sens.paths",
                               max_selections=MAX_SETTINGS,
                               help="each is moved down and up by the share below (whole numbers at least one step)")
        c = st.columns(3)
        by = c[0].slider("Move each by", 5, 50, 20, step=5, format="%d%%", key="exp.sens.by")
        n = c[1].number_input("Runs per variant", value=4, min_value=2, max_value=10, step=1, key="exp.sens.n")
        seed = c[2].number_input("First seed", value=int(data.get("seed") or 0), min_value=0, step=1,
                                 key="exp.sens.seed")
        submitted = st.form_submit_button("Rank the settings", type="primary", icon=":material/tune:")
    if submitted:
        if not paths:
            st.warning("Pick at least one setting to move.")
            return None
        st.session_state["exp_sensitivity"] = {"yaml": edit.to_yaml(data), "paths": tuple(paths), "by": by / 100,
                                               "n": int(n), "seed": int(seed)}
    slot = st.session_state.get("exp_sensitivity")
    if slot is None:
        st.info("Pick the settings and press **Rank the settings**: each runs down and up on the same traffic.",
                icon=":material/tune:")
        return None
    try:
        result: SensitivityResult = with_progress("Moving settings", _sensitivity, slot["yaml"], slot["paths"],
                                                  slot["by"], slot["n"], slot["seed"])
    except sandbox.SandboxError as exc:
        error(exc)
        return None
    if slot["yaml"] != edit.to_yaml(data):
        st.caption("The design has changed since this experiment; run it again to see the effect.")
    st.success(result.text().splitlines()[-2] if len(result.text().splitlines()) > 1 else result.text(),
               icon=":material/leaderboard:")
    st.altair_chart(tornado(result), width="stretch")
    header, rows = result.table()
    st.dataframe([dict(zip(header, row)) for row in rows], hide_index=True)
    st.caption(f"Each setting {result.by:.0%} down and up, {len(result.seeds)} runs each on identical traffic "
               f"(common random numbers); {result.confidence:.0%} paired intervals. Ranked by the swing of the p99.")
    return result
