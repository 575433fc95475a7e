"""Shared fixtures: scenario text builders and paths; a test run never writes into the project.

Two session-wide guards keep the suite from touching anything outside its
temporary folders: ``SANDBOX_DB`` points at a temporary file for the whole
run (so no code path, a pool worker included, falls back to the project's own
``.sandbox/app.db``), and ``sys.modules["__main__"]`` is put back after every
test (Streamlit's AppTest replaces it with the app script and never restores
it, and a process pool prepares its workers from whatever ``__main__`` is).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="session", autouse=True)
def _session_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """SANDBOX_DB in a temporary folder for the whole run; tests that need their own use `db`."""
    path = tmp_path_factory.mktemp("session-db") / "app.db"
    before = os.environ.get("SANDBOX_DB")
    os.environ["SANDBOX_DB"] = str(path)
    yield path
    if before is None:
        os.environ.pop("SANDBOX_DB", None)
    else:
        os.environ["SANDBOX_DB"] = before


@pytest.fixture(autouse=True)
def _restore_main() -> Iterator[None]:
    """Put back the real ``__main__`` after each test (AppTest leaves the app script there)."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


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
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: .ci/run should have installed it", pytrace=False)
    pytest.skip(reason)


def run_command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The CLI run in this process: (exit code, what it printed, its stderr), with no traceback in stderr."""
    import io

    from sandbox.cli import main
    out = io.StringIO()
    code = main(list(argv), out=out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, out.getvalue(), err
