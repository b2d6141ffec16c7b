"""ARCHITECTURE.md stays true: the import rules it states hold, and the graph it shows is the
graph `build_graph()` builds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from graph.builder import build_graph
from graph.diagram import BEGIN, END, mermaid, with_diagram
from tests.helpers import REPO

PACKAGES = ("tools", "nodes", "graph", "server", "evals", "training")
# What each layer may import besides itself (ARCHITECTURE.md, "The house").
ALLOWED = {
    "tools": set(),
    "training": {"tools"},
    "nodes": {"tools", "graph.state", "graph.context"},
    "graph": {"tools", "nodes"},
    "server": {"tools", "graph"},
    "evals": {"tools", "graph"},
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _allowed(module: str, rules: set[str]) -> bool:
    return any(module == rule or module.startswith(rule + ".") for rule in rules)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_only_go_down(package):
    broken = sorted(
        f"{path.relative_to(REPO)} imports {module}"
        for path in (REPO / package).rglob("*.py")
        for module in _imports(path)
        if (top := module.split(".")[0]) in (*PACKAGES, "tests")
        and top != package
        and not _allowed(module, ALLOWED[package])
    )
    assert broken == []


def test_a_rule_broken_is_seen(tmp_path):
    """The check reads real imports: a node importing the builder would be caught."""
    sample = tmp_path / "node.py"
    sample.write_text("from graph.builder import build_graph\nfrom graph.state import State\n")
    assert [m for m in _imports(sample) if not _allowed(m, ALLOWED["nodes"])] == ["graph.builder"]


def test_the_architecture_shows_the_graph_as_built(demo_services):
    document = (REPO / "ARCHITECTURE.md").read_text("utf-8")
    diagram = mermaid(build_graph(services=demo_services))
    assert with_diagram(document, diagram) == document, "run `vinarag diagram --write ...`"
    for node in ("start_turn", "check_cache", "grade_documents", "check_grounding", "fallback"):
        assert f"{node} " in diagram or f"{node};" in diagram


def test_a_document_without_markers_is_refused():
    with pytest.raises(ValueError, match="no diagram markers"):
        with_diagram("# notes\n", "graph TD;\n")
    assert BEGIN in with_diagram(f"a\n{BEGIN}\nold\n{END}\nb", "graph TD;\n")
