"""Every command of the CLI on every shipped file (each challenge as its starter and its solution): no traceback.

A shipped example that crashes a command (the rate limiter's diagram once did,
and with it ``report``, the app's Architecture tab and a challenge's lesson) is
found here, whatever the kind of node or feature it uses. The runs are kept
short (``--duration``); what the full runs give is pinned by ``test_golden``.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

import sandbox
from sandbox import edit
from sandbox.cli import main

from .conftest import ROOT

FILES = sorted((ROOT / "scenarios").rglob("*.yaml"))
CASES = [(f, which) for f in FILES
         for which in (("starter", "solution") if sandbox.load(f).challenge is not None else ("file",))]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, out.getvalue(), err


def _design_file(path: Path, which: str, tmp_path: Path) -> Path:
    """The file itself, or a challenge's reference solution written out as a design of its own."""
    if which != "solution":
        return path
    solution = tmp_path / f"{path.stem}_solution.yaml"
    solution.write_text(edit.to_yaml(edit.challenge_design(path, "solution")), encoding="utf-8")
    return solution


@pytest.mark.slow
@pytest.mark.parametrize("path,which", CASES, ids=[f"{p.relative_to(ROOT / 'scenarios')}#{w}" for p, w in CASES])
def test_every_command_handles_every_shipped_file(path: Path, which: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    file = str(_design_file(path, which, tmp_path))
    w = sandbox.load(file).workload
    short = f"{min(w.duration_s, w.warmup_s + 15):g}"
    assert _cli(capsys, "validate", file)[0] == 0
    for extra in ([], ["--json"]):
        assert _cli(capsys, "analyse", file, *extra)[0] == 0
        code, out, _ = _cli(capsys, "run", file, "--seed", "2", "--duration", short, *extra)
        assert code == 0 and out.strip()
    code, dot, _ = _cli(capsys, "diagram", file)
    assert code == 0 and dot.startswith("digraph")
    code, dot, _ = _cli(capsys, "diagram", file, "--run", "--seed", "1", "--duration", short)
    assert code == 0 and "busy" in dot
    if shutil.which("dot"):
        assert _cli(capsys, "diagram", file, "--svg", str(tmp_path / "d.svg"))[0] == 0
        assert (tmp_path / "d.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    code, out, _ = _cli(capsys, "report", file, "-n", "2", "--duration", short, "--workers", "1",
                        "--out", str(tmp_path / "review"))
    assert code == 0 and (tmp_path / "review" / "report.md").is_file()
    if which != "file":
        code, out, _ = _cli(capsys, "challenge", "check", str(path), *(["--solution"] if which == "solution" else []))
        assert code == (0 if which == "solution" else 1), out   # the starter must fail, the solution pass
        assert ("PASS" if which == "solution" else "FAIL") in out
