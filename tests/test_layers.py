"""The import direction: bangui (core) <- geo <- jails <- blocklists <- alerts, no cycles.

Walks every import of the five packages with ``ast`` (also imports inside
functions: hiding one there does not change who depends on whom) and fails on
an import against the direction or on a cycle between modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"bangui": 0, "geo": 1, "jails": 2, "blocklists": 3, "alerts": 4}
# Modules that wire the apps together and so may import any of them.
COMPOSITION_ROOTS = {"bangui.urls", "bangui.health", "bangui.metrics.collect"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts or "tests" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """The project modules ``module`` imports, with the line of each import."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, node.lineno
                elif target in MODULES:
                    yield target, node.lineno


GRAPH = {m: sorted(set(_imports(m, p))) for m, p in MODULES.items()}


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_the_walk_sees_the_project() -> None:
    assert {"bangui.fail2ban.client", "geo.selectors", "jails.live.services"} <= set(MODULES)
    assert ("jails.models", 6) not in GRAPH["jails.live.services"]  # lines are real
    assert any(t == "jails.models" for t, _ in GRAPH["jails.live.services"])


def test_imports_go_one_way() -> None:
    wrong = [
        f"{MODULES[m].relative_to(ROOT)}:{line}: {m} imports {target}"
        for m, targets in GRAPH.items()
        if m not in COMPOSITION_ROOTS
        for target, line in targets
        if _layer(target) > _layer(m)
    ]
    assert not wrong, (
        "imports against bangui <- geo <- jails <- blocklists <- alerts:\n" + "\n".join(wrong)
    )


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _ in GRAPH[node]:
            if target == node:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_about() -> None:
    cycles = _cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_a_cycle_would_be_found(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    graph = {**GRAPH, "geo.conf": [*GRAPH["geo.conf"], ("geo.selectors", 1)]}
    monkeypatch.setitem(globals(), "GRAPH", graph)
    assert any("geo.conf" in c and "geo.selectors" in c for c in _cycles())
