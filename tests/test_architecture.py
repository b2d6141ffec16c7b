"""ARCHITECTURE.md stays true: the import rules it states hold, and the graph it shows is the
graph `build_graph()` builds."""

from __future__ import annotations

import ast
import functools
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


def _import_statements(path: Path) -> list[tuple[str, list[str]]]:
    """(module, the names taken from it) for every absolute import, at any depth of the code."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def _imports(path: Path) -> set[str]:
    return {module for module, _ in _import_statements(path)}


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


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports, at any depth of its code (a function's import
    closes a loop as surely as one at the top)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {
            target
            for module, names in _import_statements(path)
            for target in (module, *(f"{module}.{n}" for n in names))
        }
        resolved = set()
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                resolved.add(target)
        graph[name] = resolved
    return graph


@functools.cache
def _project_graph() -> dict[str, set[str]]:
    return _import_graph(_modules())


def _loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def _room(module: str) -> str:
    """A module's room in tools/: its subpackage, or the module itself at the top."""
    return ".".join(module.split(".")[:2])


def test_no_import_loop_among_modules_or_the_rooms_of_tools():
    graph = _project_graph()
    assert _loops(graph) == []
    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module.startswith("tools."):
            rooms.setdefault(_room(module), set()).update(
                _room(t) for t in targets if t.startswith("tools.") and _room(t) != _room(module)
            )
    assert _loops(rooms) == []


# The floors of tools/: what the rest stands on imports (almost) nothing of the project.
FLOORS = {
    "tools.text": set(),
    "tools.errors": set(),
    "tools.corpus": {"tools.text"},
    "tools.kb": {"tools.text", "tools.errors", "tools.corpus", "tools.settings", "tools.rerank"},
}


@pytest.mark.parametrize("floor", FLOORS)
def test_the_floors_of_tools_stand_on_what_is_below_them(floor):
    graph = _project_graph()
    above = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if _room(module) == floor
        for target in targets
        if _room(target) != floor and _room(target) not in FLOORS[floor]
    )
    assert above == []


def test_only_studio_builds_at_import_and_nothing_imports_it():
    """graph/studio.py builds the graph when imported (Studio reads its attribute): no module of
    the project may import it, or importing that module would build services."""
    importers = [m for m, targets in _project_graph().items() if "graph.studio" in targets]
    assert importers == []


def _settings_read_around_the_run(path: Path) -> list[int]:
    """Lines where a node reads `services.settings` other than through `run_settings(...)`."""
    tree = ast.parse(path.read_text("utf-8"))
    reads = {
        id(node): node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "settings"
        and isinstance(node.value, ast.Name)
        and node.value.id == "services"
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_settings":
            for arg in node.args:
                reads.pop(id(arg), None)
    return sorted(reads.values())


def test_nodes_read_their_settings_as_the_run_resolved_them(tmp_path):
    """One source of settings for nodes: a run's overrides reach every node that reads one."""
    around = {
        str(path.relative_to(REPO)): lines
        for path in (REPO / "nodes").glob("*.py")
        if (lines := _settings_read_around_the_run(path))
    }
    assert around == {}
    sample = tmp_path / "node.py"
    sample.write_text(
        "run = run_settings(runtime, services.settings)\nk = services.settings.graph.max_asks\n"
    )
    assert _settings_read_around_the_run(sample) == [2]


def test_a_loop_is_seen():
    assert _loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _loops({"a": {"b"}, "b": set()}) == []


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
