"""The library never imports streamlit: the UI depends on it, not the other way round."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sandbox


def test_no_module_in_sandbox_imports_streamlit() -> None:
    root = Path(sandbox.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_importing_and_running_loads_no_streamlit() -> None:
    code = ("import sys, sandbox; sandbox.simulate(sandbox.load('scenarios/checkout_api.yaml'), duration_s=35); "
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(sandbox.__file__).parent.parent)
    assert out.stdout.strip() == "False"
