"""The library's packages import each other in one direction only: no cycles.

Nodes are the top-level packages and modules of `hellohome` (cdc, db, search, sync, stack, config,
documents, ...); an edge is any import of one from another, at module level or inside a function
(a function-level import is still a dependency). Migrations are scripts Alembic loads, not modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import hellohome

LIBRARY = Path(hellohome.__file__).parent


def _node(path: Path) -> str:
    return path.relative_to(LIBRARY).with_suffix("").parts[0]


def import_graph() -> dict[str, set[str]]:
    nodes = {_node(p) for p in LIBRARY.rglob("*.py")} - {"__init__"}
    graph: dict[str, set[str]] = {n: set() for n in nodes}
    for path in LIBRARY.rglob("*.py"):
        if "migrations" in path.parts or _node(path) == "__init__":
            continue
        source = _node(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "hellohome" and len(parts) > 1 and parts[1] in nodes and parts[1] != source:
                    graph[source].add(parts[1])
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path (first node repeated at the end), or None."""
    state: dict[str, str] = {}  # node -> "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [node])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [])):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a2"}, "a2": {"b"}, "b": {"a2"}}) == ["a2", "b", "a2"]


def test_library_packages_import_each_other_without_cycles():
    graph = import_graph()
    assert {"cdc", "db", "search", "sync", "stack", "enrich", "config"} <= set(graph)  # it really read them
    assert "search" in graph["sync"] and "db" in graph["sync"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between library packages: " + " -> ".join(cycle)


def test_the_lowest_layers_depend_on_nothing_above_them():
    graph = import_graph()
    assert graph["errors"] == set()
    assert graph["config"] <= {"errors"}
    assert graph["cdc"] <= {"config", "errors"}  # the change-event vocabulary sits below everything that syncs
    assert graph["db"] <= {"config", "errors"}
