"""Imports point one way: no module of the library imports, even for the type checker, one that imports it back.

A cycle is how one concept leaks into another (the engine's private run record
read by the summary, validation messages and the scenario importing each
other). The graph is read from the source with ``ast``: every ``import`` and
``from ... import`` between modules of ``sandbox``, those under
``if TYPE_CHECKING:`` and inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from .conftest import ROOT

PACKAGE = ROOT / "sandbox"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The sandbox modules `path` imports (a name imported from a package counts as its module when it is one)."""
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                child = f"{target}.{alias.name}"
                found.add(child if child in modules else target)
    return {m for m in found if m in modules and m != here}


def import_graph() -> nx.DiGraph:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module(p) for p in files}
    G = nx.DiGraph()
    G.add_nodes_from(modules)
    for p in files:
        for m in _imports(p, modules):
            G.add_edge(_module(p), m)
    return G


def test_the_graph_is_read() -> None:
    G = import_graph()
    assert G.has_edge("sandbox.engine", "sandbox.kinds") and G.has_edge("sandbox.scenario", "sandbox.kinds")


def test_no_import_cycle_in_the_library() -> None:
    G = import_graph()
    # a package's face imports its own modules; those importing the face back would be a cycle too
    cycles = list(nx.simple_cycles(G))
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c + [c[0]]) for c in cycles[:10])
