"""Editing a design as plain data: add, rename and remove nodes and calls, set fields.

A design being edited is the scenario as plain data (what YAML parses to), and
it may be invalid for a while: a load balancer just added has nothing to
balance over yet. So these functions take a dict and return a *new* dict, keep
it consistent where an edit implies more (renaming a node renames it in every
call and in the workload's entry; removing one removes its calls), and leave
every judgement of validity to :func:`sandbox.scenario.from_dict`, which
:func:`problems` reports as ``(field path, reason)`` pairs. The builder in the
app is these functions plus widgets.

>>> d, name = add_node(empty_design(), "service")
>>> d, db = add_node(d, "database")
>>> d = add_edge(d, name, db)
>>> name, db, d["workload"]["entry"], d["edges"]
('service', 'db', 'service', [{'from': 'service', 'to': 'db'}])
>>> problems(d)
[]
>>> problems(set_field(d, "nodes.db.workers", 0))
[('nodes.db.workers', 'must be at least 1, got 0')]
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from . import yamlio
from .classes import CLASS_NAME
from .errors import ScenarioError
from .kinds import KINDS
from .scenario import Scenario, from_dict

__all__ = ["PALETTE", "PATTERNS", "empty_design", "add_node", "remove_node", "rename_node", "add_edge",
           "remove_edge", "set_field", "set_service_time_dist", "problems", "validate", "auto_layout", "place_new",
           "with_load", "to_yaml", "parse_yaml", "challenge_design", "unique_name", "NAME_RULE", "class_names",
           "add_class", "remove_class", "rename_class", "set_keyed", "CLASS_KEYED"]

NAME_RULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

# Sensible defaults for a component dropped on the canvas: (name stem, node), by kind.
PALETTE: dict[str, tuple[str, dict[str, Any]]] = {name: (k.stem, k.palette) for name, k in KINDS.items()
                                                   if k.in_palette}

# Load patterns the run controls offer; see with_load.
PATTERNS = {
    "as designed": "the design's own arrivals and load profile",
    "steady": "Poisson arrivals at a steady rate",
    "even": "evenly spaced arrivals at a steady rate",
    "spike": "a burst of peak x rate from 40% to 60% of the run",
    "step": "the rate steps up to peak x rate halfway through",
    "ramp": "the rate climbs from rate to peak x rate over the run",
    "diurnal": "a day-like wave, one period per run, peaking mid-run",
}

_X_GAP, _Y_GAP = 230.0, 110.0

# A node's fields that are mappings keyed by class name (renamed and pruned with the class).
CLASS_KEYED = ("service_time_by_class", "bulkheads")


def empty_design(name: str = "Untitled design") -> dict[str, Any]:
    """A design with a workload and no nodes yet (the entry is set by the first node added)."""
    return {"name": name,
            "workload": {"entry": "", "arrival": "poisson", "rate_rps": 100, "duration_s": 60, "warmup_s": 5,
                         "slo_ms": 250},
            "nodes": {}, "edges": []}


def unique_name(data: dict[str, Any], stem: str) -> str:
    """`stem`, or `stem2`, `stem3`, ... : the first not yet a node of `data`."""
    nodes = data.get("nodes") or {}
    if stem not in nodes:
        return stem
    k = 2
    while f"{stem}{k}" in nodes:
        k += 1
    return f"{stem}{k}"


def add_node(data: dict[str, Any], kind: str, name: str | None = None,
             like: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """A copy of `data` with a new node of `kind`, and the node's name.

    The node has the palette's defaults, or copies `like` (a challenge's template
    node). The first node becomes the workload's entry.
    """
    if kind not in PALETTE:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(PALETTE)}")
    stem, node = PALETTE[kind]
    if like is not None:
        if like.get("kind") != kind:
            raise ValueError(f"a {kind} cannot copy a {like.get('kind')}")
        node = like
    out = copy.deepcopy(data)
    out.setdefault("nodes", {})
    name = name or unique_name(out, stem)
    if name in out["nodes"]:
        raise ValueError(f"there is already a node called {name!r}")
    out["nodes"][name] = copy.deepcopy(node)
    workload = out.setdefault("workload", {})
    if not workload.get("entry") or workload.get("entry") not in out["nodes"]:
        workload["entry"] = name
    return out, name


def remove_node(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy without node `name` and its calls; the entry moves to the first node left."""
    out = copy.deepcopy(data)
    out.get("nodes", {}).pop(name, None)
    out["edges"] = [e for e in out.get("edges", []) if e.get("from") != name and e.get("to") != name]
    workload = out.setdefault("workload", {})
    if workload.get("entry") == name:
        workload["entry"] = next(iter(out.get("nodes", {})), "")
    return out


def rename_node(data: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy with node `old` called `new` everywhere (calls, entry); ValueError on a bad name."""
    new = new.strip()
    if new == old:
        return copy.deepcopy(data)
    if not NAME_RULE.match(new):
        raise ValueError(f"a node name starts with a letter and holds only letters, digits, _ and -; got {new!r}")
    if new in data.get("nodes", {}):
        raise ValueError(f"there is already a node called {new!r}")
    out = copy.deepcopy(data)
    out["nodes"] = {(new if k == old else k): v for k, v in out.get("nodes", {}).items()}
    for e in out.get("edges", []):
        for end in ("from", "to"):
            if e.get(end) == old:
                e[end] = new
    if out.get("workload", {}).get("entry") == old:
        out["workload"]["entry"] = new
    return out


def add_edge(data: dict[str, Any], source: str, target: str, **fields: Any) -> dict[str, Any]:
    """A copy with a call from `source` to `target` appended (after the source's other calls)."""
    out = copy.deepcopy(data)
    out.setdefault("edges", []).append({"from": source, "to": target, **fields})
    return out


def remove_edge(data: dict[str, Any], index: int) -> dict[str, Any]:
    """A copy without the call at `index`."""
    out = copy.deepcopy(data)
    edges = out.setdefault("edges", [])
    if 0 <= index < len(edges):
        edges.pop(index)
    return out


def set_field(data: dict[str, Any], path: str, value: Any, keep_none: bool = False) -> dict[str, Any]:
    """A copy with the field at dotted `path` (list indices as numbers) set to `value`.

    ``None`` removes the field (so its default applies) unless `keep_none`,
    which writes an explicit null (``queue_limit: null`` means unbounded).

    >>> set_field({"edges": [{"from": "a", "to": "b"}]}, "edges.0.latency_ms", 2)
    {'edges': [{'from': 'a', 'to': 'b', 'latency_ms': 2}]}
    """
    out = copy.deepcopy(data)
    parts = path.split(".")
    cursor: Any = out
    for part in parts[:-1]:
        if isinstance(cursor, list):
            cursor = cursor[int(part)]
        else:
            if not isinstance(cursor.get(part), (dict, list)):
                cursor[part] = {}
            cursor = cursor[part]
    last = parts[-1]
    if isinstance(cursor, list):
        cursor[int(last)] = value
    elif value is None and not keep_none:
        cursor.pop(last, None)
    else:
        cursor[last] = value
    return out


def set_keyed(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """:func:`set_field` for one key of a mapping (a class's bulkhead): removing its last key removes the mapping.

    >>> set_keyed({"nodes": {"a": {"bulkheads": {"x": 2}}}}, "nodes.a.bulkheads.x", None)
    {'nodes': {'a': {}}}
    """
    out = set_field(data, path, value)
    if value is None:
        parent, _, _ = path.rpartition(".")
        cursor: Any = out
        for part in parent.split("."):
            cursor = cursor[int(part)] if isinstance(cursor, list) else cursor.get(part)
        if cursor == {}:
            out = set_field(out, parent, None)
    return out


# ── request classes ──────────────────────────────────────────────────────────

def _classes(data: dict[str, Any]) -> dict[str, Any]:
    workload = data.get("workload")
    classes = workload.get("classes") if isinstance(workload, dict) else None
    return classes if isinstance(classes, dict) else {}


def class_names(data: dict[str, Any]) -> list[str]:
    """The workload's request classes, in the order it lists them (none without classes).

    >>> class_names({"workload": {"classes": {"browse": {"share": 0.8}, "checkout": {"share": 0.2}}}})
    ['browse', 'checkout']
    """
    return [str(name) for name in _classes(data)]


def add_class(data: dict[str, Any], name: str | None = None) -> tuple[dict[str, Any], str]:
    """A copy with a new request class, and its name (``class``, ``class2``, ... unless given).

    The first class takes every request (share 1); a later one starts with share
    0, so the shares still sum to 1 until some are moved to it.

    >>> d, first = add_class({"workload": {"entry": "a"}})
    >>> d, second = add_class(d)
    >>> d["workload"]["classes"]
    {'class': {'share': 1}, 'class2': {'share': 0}}
    """
    classes = _classes(data)
    if name is None:
        name, k = "class", 2
        while name in classes:
            name, k = f"class{k}", k + 1
    _check_class_name(name, classes)
    out = copy.deepcopy(data)
    workload = out.setdefault("workload", {})
    new = dict(_classes(out))
    new[name] = {"share": 0 if new else 1}
    workload["classes"] = new
    return out, name


def _check_class_name(name: str, classes: dict[str, Any]) -> None:
    if not CLASS_NAME.match(name):
        raise ValueError("a class name starts with a letter or _ and holds only letters, digits, _ and - "
                         f"(at most 64); got {name!r}")
    if name in classes:
        raise ValueError(f"there is already a class called {name!r}")


def rename_class(data: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy with class `old` called `new` everywhere: the workload, the calls' ``classes`` and the nodes'
    fields keyed by class (:data:`CLASS_KEYED`); ValueError on a bad or taken name.

    >>> d = {"workload": {"classes": {"a": {"share": 1}}}, "nodes": {"n": {"bulkheads": {"a": 2}}},
    ...      "edges": [{"from": "n", "to": "m", "classes": ["a"]}]}
    >>> d = rename_class(d, "a", "paid")
    >>> d["workload"]["classes"], d["nodes"]["n"]["bulkheads"], d["edges"][0]["classes"]
    ({'paid': {'share': 1}}, {'paid': 2}, ['paid'])
    """
    new = new.strip()
    if new == old:
        return copy.deepcopy(data)
    _check_class_name(new, _classes(data))
    out = copy.deepcopy(data)
    if old in _classes(out):
        out["workload"]["classes"] = {(new if k == old else k): v for k, v in _classes(out).items()}
    for e in out.get("edges") or []:
        if isinstance(e, dict) and isinstance(e.get("classes"), list):
            e["classes"] = [new if c == old else c for c in e["classes"]]
    for node in (out.get("nodes") or {}).values():
        for key in CLASS_KEYED:
            keyed = node.get(key) if isinstance(node, dict) else None
            if isinstance(keyed, dict) and old in keyed:
                node[key] = {(new if k == old else k): v for k, v in keyed.items()}
    return out


def remove_class(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy without class `name`, nor any mention of it; the other classes' shares are left as they are.

    A call taken only by that class is removed (no request takes it any more), so
    the other classes keep their paths; a node's setting for it (its bulkhead, its
    service time) goes too. Without classes left, the workload has none.

    >>> d = {"workload": {"classes": {"a": {"share": 0.5}, "b": {"share": 0.5}}},
    ...      "edges": [{"from": "n", "to": "m", "classes": ["a"]}, {"from": "n", "to": "k", "classes": ["a", "b"]}]}
    >>> d = remove_class(d, "a")
    >>> d["workload"]["classes"], d["edges"]
    ({'b': {'share': 0.5}}, [{'from': 'n', 'to': 'k', 'classes': ['b']}])
    """
    out = copy.deepcopy(data)
    classes = {k: v for k, v in _classes(out).items() if k != name}
    workload = out.get("workload")
    if isinstance(workload, dict) and "classes" in workload:
        if classes:
            workload["classes"] = classes
        else:
            del workload["classes"]
    if isinstance(out.get("edges"), list):
        kept = []
        for e in out["edges"]:
            if isinstance(e, dict) and isinstance(e.get("classes"), list) and name in e["classes"]:
                e["classes"] = [c for c in e["classes"] if c != name]
                if not e["classes"]:
                    continue
            kept.append(e)
        out["edges"] = kept
    for node in (out.get("nodes") or {}).values():
        for key in CLASS_KEYED:
            keyed = node.get(key) if isinstance(node, dict) else None
            if isinstance(keyed, dict) and name in keyed:
                del keyed[name]
                if not keyed:
                    del node[key]
    return out


def set_service_time_dist(data: dict[str, Any], node: str, dist: str) -> dict[str, Any]:
    """A copy with `node`'s service time switched to `dist`, keeping its mean where it can."""
    out = copy.deepcopy(data)
    st = out["nodes"][node].get("service_time") or {"dist": "constant", "mean_ms": 1}
    mean = _tidy(_mean_ms(st))
    new: dict[str, Any]
    if dist in ("exponential", "constant"):
        new = {"dist": dist, "mean_ms": mean}
    elif dist == "lognormal":
        new = {"dist": "lognormal", "mean_ms": mean, "p99_ms": _tidy(mean * 4)}
    elif dist == "uniform":
        new = {"dist": "uniform", "min_ms": _tidy(mean / 2), "max_ms": _tidy(mean * 1.5)}
    elif dist == "gamma":
        new = {"dist": "gamma", "mean_ms": mean, "cv": 1}          # cv 1: as variable as exponential
    elif dist == "weibull":
        new = {"dist": "weibull", "mean_ms": mean, "shape": 0.7}   # below 1: a long tail
    elif dist == "pareto":
        new = {"dist": "pareto", "mean_ms": mean, "alpha": 2.5}    # finite variance (scv 5), a heavy tail
    elif dist == "empirical":
        samples = st.get("samples_ms") if st.get("dist") == "empirical" else None
        new = {"dist": "empirical", "samples_ms": samples or [mean]}
    else:
        raise ValueError(f"unknown distribution {dist!r}")
    out["nodes"][node]["service_time"] = new
    return out


def _mean_ms(st: dict[str, Any]) -> float:
    """The mean of a service time as written (10 ms when it has none a number can be read from)."""
    try:
        if st.get("dist") == "uniform":
            return (float(st.get("min_ms") or 0) + float(st.get("max_ms") or 0)) / 2 or 10.0
        if st.get("dist") == "empirical":
            samples = [float(v) for v in st.get("samples_ms") or []]
            return sum(samples) / len(samples) if samples and sum(samples) > 0 else 10.0
        return float(st.get("mean_ms") or 10.0)
    except (TypeError, ValueError):   # a value being typed; the new distribution starts from the default
        return 10.0


def _tidy(x: float) -> float | int:
    x = round(x, 3)
    return int(x) if x == int(x) else x


def problems(data: Any) -> list[tuple[str, str]]:
    """Every problem that keeps `data` from being a valid scenario, as (field path, reason)."""
    return validate(data)[1]


def validate(data: Any) -> tuple[Scenario | None, list[tuple[str, str]]]:
    """The scenario `data` describes and no problems, or None and every problem: one validation."""
    try:
        return from_dict(data, source="<design>"), []
    except ScenarioError as exc:
        return None, list(exc.problems)


def auto_layout(data: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Canvas positions, left to right by call depth from the entry, top to bottom within a depth.

    >>> auto_layout({"workload": {"entry": "a"}, "nodes": {"a": {}, "b": {}, "c": {}},
    ...              "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}]})
    {'a': (40.0, 40.0), 'b': (270.0, 40.0), 'c': (270.0, 150.0)}
    """
    given = data.get("nodes") if isinstance(data, dict) else None
    nodes = [n for n in (given if isinstance(given, dict) else {}) if isinstance(n, str)]
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    edges = data.get("edges") if isinstance(data, dict) else None
    for e in edges if isinstance(edges, list) else []:
        # a design being edited may hold anything: only calls between named nodes place anything
        ends = (e.get("from"), e.get("to")) if isinstance(e, dict) else (None, None)
        if all(isinstance(x, str) and x in succ for x in ends):
            succ[str(ends[0])].append(str(ends[1]))
    depth: dict[str, int] = {}
    workload = data.get("workload") if isinstance(data, dict) else None
    entry = workload.get("entry") if isinstance(workload, dict) else None
    frontier: list[str] = [entry] if isinstance(entry, str) and entry in succ else []
    for n in frontier:
        depth[n] = 0
    while frontier:  # breadth first: each node at its shortest call depth
        nxt = []
        for n in frontier:
            for m in succ[n]:
                if m not in depth:
                    depth[m] = depth[n] + 1
                    nxt.append(m)
        frontier = nxt
    deepest = max(depth.values(), default=-1)
    for n in nodes:  # unreachable nodes in a column of their own
        depth.setdefault(n, deepest + 1)
    rows: dict[int, int] = {}
    out = {}
    for n in nodes:
        d = depth[n]
        out[n] = (40.0 + d * _X_GAP, 40.0 + rows.get(d, 0) * _Y_GAP)
        rows[d] = rows.get(d, 0) + 1
    return out


def place_new(layout: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """Where a new node goes: right of the rightmost node, at the top; (40, 40) on an empty canvas."""
    if not layout:
        return (40.0, 40.0)
    right = max(x for x, _ in layout.values())
    return (right + _X_GAP, 40.0)


def with_load(data: dict[str, Any], *, rate: float | None = None, duration_s: float | None = None,
              pattern: str = "as designed", peak: float = 3.0) -> dict[str, Any]:
    """A copy with the workload changed for a run: rate (users for a closed loop), duration, pattern.

    Patterns are in PATTERNS; `peak` is the multiplier of the varying ones. A
    warm-up as long as the new duration is cut to a tenth of it.

    >>> d = {"workload": {"entry": "a", "rate_rps": 100, "duration_s": 60, "warmup_s": 10}}
    >>> with_load(d, duration_s=100, pattern="spike", peak=3)["workload"]["profile"]
    {'shape': 'spike', 'at_s': 40.0, 'for_s': 20.0, 'multiplier': 3}
    """
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {', '.join(PATTERNS)}")
    out = copy.deepcopy(data)
    w = out.setdefault("workload", {})
    closed = w.get("users") is not None
    if rate is not None:
        if closed:
            w["users"] = int(rate)
        else:
            w["rate_rps"] = rate
    if duration_s is not None:
        w["duration_s"] = duration_s
        if float(w.get("warmup_s") or 0) >= duration_s:
            w["warmup_s"] = round(duration_s / 10, 3)
    if closed or pattern == "as designed":
        return out
    d = float(w.get("duration_s") or 60)
    base = float(w.get("rate_rps") or 1)
    w.pop("profile", None)
    w["arrival"] = "constant" if pattern == "even" else "poisson"
    if pattern == "spike":
        w["profile"] = {"shape": "spike", "at_s": round(0.4 * d, 3), "for_s": round(0.2 * d, 3), "multiplier": peak}
    elif pattern == "step":
        w["profile"] = {"shape": "step", "at_s": round(0.5 * d, 3), "to_rps": round(base * peak, 3)}
    elif pattern == "ramp":
        w["profile"] = {"shape": "ramp", "to_rps": round(base * peak, 3), "start_s": float(w.get("warmup_s") or 0),
                        "end_s": d}
    elif pattern == "diurnal":
        amplitude = min(1.0, max(0.0, peak - 1.0))
        w["profile"] = {"shape": "diurnal", "period_s": d, "amplitude": amplitude, "peak_s": round(d / 2, 3)}
    return out


def to_yaml(data: dict[str, Any]) -> str:
    """YAML text of a design, fields in the order they were written."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)


def parse_yaml(text: str, source: str = "<upload>") -> dict[str, Any]:
    """The design a YAML text holds, validated: ScenarioError (every problem) when it is not valid.

    A challenge file gives its starter design (the file without its challenge section).
    """
    data = yamlio.parse(text, source)
    from_dict(data, source=source)  # raises with every problem
    if isinstance(data, dict) and "challenge" in data:
        data = {k: v for k, v in data.items() if k != "challenge"}
    return data


def challenge_design(path: str | Path, which: str = "starter") -> dict[str, Any]:
    """A challenge's starter design or reference solution, as the compact data its file holds."""
    raw = yamlio.parse(yamlio.read_text(path), str(path))
    from_dict(raw, source=str(path))
    data = {k: copy.deepcopy(v) for k, v in raw.items() if k != "challenge"}
    if which == "solution":
        solution = raw["challenge"]["solution"]
        data["nodes"] = copy.deepcopy(solution["nodes"])
        data["edges"] = copy.deepcopy(solution.get("edges", []))
    elif which != "starter":
        raise ValueError(f"which must be 'starter' or 'solution', got {which!r}")
    return data

