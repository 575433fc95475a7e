"""Settings to vary: ``PATH=VALUE`` changes and ``PATH=START:STOP:STEPS`` ranges, read from text.

A path is a dotted field path into the scenario (``nodes.web.replicas``,
``workload.rate_rps``), as :func:`sandbox.scenario.with_overrides` takes it.
Malformed text is refused here with the text and the reason; whether the
path and value suit the scenario is checked by validating the changed
scenario.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ScenarioError

__all__ = ["SweepAxis", "parse_range", "parse_setting", "fit_axis", "show_value"]


@dataclass(frozen=True)
class SweepAxis:
    """One setting to vary: a dotted path and the values it takes, in order."""
    path: str
    values: list[Any]

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")


def _scalar(text: str) -> Any:
    text = text.strip()
    if _INT.match(text):
        return int(text)
    if _NUMBER.match(text):
        return float(text)
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    return text


def _split_setting(text: str, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise ScenarioError("setting", [(text, f"expected PATH={what}, e.g. workload.rate_rps=100:2000:20")])
    path, _, value = text.partition("=")
    path, value = path.strip(), value.strip()
    if not _PATH.match(path):
        raise ScenarioError("setting", [(text, f"{path!r} is not a dotted field path (e.g. nodes.web.replicas)")])
    if not value:
        raise ScenarioError("setting", [(text, f"no {what} after '='")])
    return path, value


def parse_setting(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` (one change, as in ``compare A.yaml --set nodes.web.replicas=4``).

    >>> parse_setting("nodes.web.replicas=4"), parse_setting("nodes.lb.policy=random")
    (('nodes.web.replicas', 4), ('nodes.lb.policy', 'random'))
    """
    path, value = _split_setting(text, "VALUE")
    return path, _scalar(value)


def parse_range(text: str) -> SweepAxis:
    """``PATH=START:STOP:STEPS``, ``PATH=START:STOP`` or ``PATH=V1,V2,...``: a sweep axis.

    START:STOP:STEPS gives STEPS evenly spaced points, both ends included;
    they are whole numbers when START and STOP are and every point is whole.
    START:STOP (whole numbers only) counts from START to STOP in steps of 1.
    A comma list gives its values as written (numbers, or words such as
    load-balancer policies).

    >>> parse_range("workload.rate_rps=100:400:4").values
    [100, 200, 300, 400]
    >>> parse_range("nodes.web.replicas=1:4").values
    [1, 2, 3, 4]
    >>> parse_range("nodes.s.service_time.mean_ms=5:6:3").values
    [5.0, 5.5, 6.0]
    >>> parse_range("nodes.lb.policy=random,round_robin").values
    ['random', 'round_robin']
    >>> parse_range("workload.rate_rps=100:x:5")
    Traceback (most recent call last):
    ...
    sandbox.errors.ScenarioError: setting: workload.rate_rps=100:x:5: START and STOP must be numbers; STOP 'x' is not
    """
    path, spec = _split_setting(text, "START:STOP:STEPS")
    if ":" not in spec:
        values = [_scalar(v) for v in spec.split(",") if v.strip()]
        if not values:
            raise ScenarioError("setting", [(text, "no values given")])
        return SweepAxis(path, values)
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) not in (2, 3):
        raise ScenarioError("setting", [(text, f"expected START:STOP:STEPS or START:STOP, got {spec!r}")])
    start, stop = parts[0], parts[1]
    bad = [f"{end} {value!r}" for end, value in (("START", start), ("STOP", stop)) if not _NUMBER.match(value)]
    if bad:
        raise ScenarioError("setting", [(text, f"START and STOP must be numbers; {' and '.join(bad)} is not")])
    whole = bool(_INT.match(start) and _INT.match(stop))
    if len(parts) == 2:
        if not whole:
            raise ScenarioError("setting", [(text, "START:STOP counts in whole steps; give START:STOP:STEPS "
                                                 "for other numbers")])
        lo, hi = int(start), int(stop)
        if abs(hi - lo) >= 10_000:
            raise ScenarioError("setting", [(text, f"{abs(hi - lo) + 1} points is too many (at most 10,000)")])
        return SweepAxis(path, list(range(lo, hi + 1) if hi >= lo else range(lo, hi - 1, -1)))
    if not _INT.match(parts[2]) or not 2 <= int(parts[2]) <= 10_000:
        raise ScenarioError("setting", [(text, f"STEPS must be a whole number from 2 to 10,000, got {parts[2]!r}")])
    steps = int(parts[2])
    a, b = float(start), float(stop)
    points = [a + (b - a) * k / (steps - 1) for k in range(steps)]
    if whole and all(abs(p - round(p)) < 1e-9 for p in points):
        return SweepAxis(path, [int(round(p)) for p in points])
    return SweepAxis(path, [round(p, 12) for p in points])


def _current(data: dict[str, Any], path: str) -> Any:
    cursor: Any = data
    for key in path.split("."):
        if isinstance(cursor, dict) and key in cursor:
            cursor = cursor[key]
        elif isinstance(cursor, list) and key.isdigit() and int(key) < len(cursor):
            cursor = cursor[int(key)]
        else:
            return None
    return cursor


def fit_axis(axis: SweepAxis, data: dict[str, Any]) -> SweepAxis:
    """Match the field's type: whole numbers for an int field (rounded, repeats dropped), floats for a float."""
    current = _current(data, axis.path)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis.values)
    if not numeric or isinstance(current, bool):
        return axis
    if isinstance(current, int):
        rounded = list(dict.fromkeys(int(round(v)) for v in axis.values))
        return SweepAxis(axis.path, rounded)
    if isinstance(current, float):
        return SweepAxis(axis.path, [float(v) for v in axis.values])
    return axis


def show_value(v: Any) -> str:
    """A setting as people write it: 1,000 not 1000.0."""
    if isinstance(v, float):
        return f"{v:,g}" if abs(v) < 1e6 else f"{v:.3g}"
    return str(v)
