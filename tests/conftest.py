"""Shared fixtures: scenario text builders and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write YAML text to a file in a temporary folder and return its path."""
    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's SQLite file, in a temporary folder (SANDBOX_DB)."""
    path = tmp_path / "app.db"
    monkeypatch.setenv("SANDBOX_DB", str(path))
    return path


def need(available: bool, reason: str) -> None:
    """Skip when something optional is missing here; in CI (env CI set) fail instead,
    because .ci/run installs everything and a skipped test checks nothing."""
    import os
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: .ci/run should have installed it", pytrace=False)
    pytest.skip(reason)
