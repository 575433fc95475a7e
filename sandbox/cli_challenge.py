"""The `challenge` command: list the campaign, grade a design (see :mod:`sandbox.cli`)."""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING, TextIO

from .errors import ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    from .challenges import Grade

__all__ = ["challenge_command"]


def challenge_command(args: argparse.Namespace, out: TextIO) -> int:
    from . import challenges
    if args.challenge_command == "list":
        rows = [(p, challenges.challenge_of(s)) for p, s in challenges.campaign(args.folder)]
        if args.json:
            out.write(json.dumps([{"file": str(p), "title": c.title, "level": c.level, "objectives":
                                   [o.text() for o in c.objectives]} for p, c in rows], indent=2) + "\n")
        else:
            for k, (p, c) in enumerate(rows, 1):
                out.write(f"{k:>2}. [level {c.level}] {c.title:<40} {p.name}\n")
        return 0
    from .scenario import load
    challenge = load(args.file)
    if challenge.challenge is None:
        raise ScenarioError(args.file, [("challenge", "this file has no challenge section")])
    section = challenge.challenge
    guesses: dict[str, float] = {}
    for item in args.predict:
        key, sep, value = item.partition("=")
        try:
            guesses[key.strip()] = float(value)
            if not math.isfinite(guesses[key.strip()]):
                raise ValueError(value)
        except ValueError:
            raise ScenarioError("--predict", [(item, "must be ID=NUMBER")]) from None
        if not sep:
            raise ScenarioError("--predict", [(item, "must be ID=NUMBER")])
    known = {p.id for p in section.predict}
    for key in guesses:
        if key not in known:
            raise ScenarioError("--predict", [(key, f"no such prediction; this challenge asks: {', '.join(sorted(known)) or 'none'}")])
    if args.design:
        candidate = challenges.load_design(args.design, challenge)
    else:
        candidate = challenges.design(challenge, "solution" if args.solution else "starter")
    g = challenges.grade(candidate, challenge, guesses)
    if args.json:
        out.write(json.dumps(g.to_dict(), indent=2) + "\n")
    else:
        out.write(_grade_text(g) + "\n")
    return 0 if g.passed else 1


def _grade_text(g: "Grade") -> str:
    lines = [f"{g.challenge}: {g.summary().partition('. Why: ')[0]}", ""]
    for v in g.violations:
        lines.append(f"  constraint broken: {v}")
    why = ""
    for o in g.objectives:
        mark = "pass" if o.passed else "FAIL"
        value = "n/a" if o.value is None else f"{o.value:,.4g}"
        lines.append(f"  {mark}  {o.objective:<45} {value:>12}  (runs: {', '.join('n/a' if v is None else f'{v:,.4g}' for v in o.runs)})")
        if o.label:
            lines.append(f"        ({o.label})")
        if o.cause:
            first, _, rest = o.cause.partition(". Why: ")
            lines.append(f"        {first}")
            why = why or rest
    if why:
        lines.append(f"  Why: {why}")
    for p in g.predictions:
        actual = "n/a" if p.actual is None else f"{p.actual:,.4g}"
        if p.guess is None:      # no guess given: show the figure to predict next time, not "None ... (off)"
            lines.append(f"  {p.question} measured {actual} (no prediction given)")
        else:
            lines.append(f"  predicted {p.id}: {p.guess:,.4g} vs {actual} ({'right' if p.right else 'off'})")
    lines.append(f"  score {g.score}/100, stars {g.stars}/3, design cost ${g.cost_per_hour:.2f}/h")
    return "\n".join(lines)
