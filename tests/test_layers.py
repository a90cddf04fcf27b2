"""The shape of the house, checked from the source: layers, import circles, module sizes.

Layers run `env <- agent <- finetune, ui`: a package may import itself and the layers below it, never one
above or beside it (`finetune` and `ui` do not import each other). Every import counts, the ones inside
functions too: a lazy import is still a dependency. Run this file alone to check a change:
`.venv/bin/python -m pytest tests/test_layers.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("env", "agent", "finetune", "ui")
ALLOWED = {"env": {"env"}, "agent": {"env", "agent"}, "finetune": {"env", "agent", "finetune"},
           "ui": {"env", "agent", "ui"}}
MAX_LINES = 420  # "under ~400 lines": a module that passes this needs splitting along a seam


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """Every project module `path` imports (absolute and relative, at any depth of the file)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from agent import cli` names a module
    return {m for m in found if m.split(".")[0] in PACKAGES}


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the project modules it imports (only names that are modules of the tree)."""
    files = [p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))]
    modules = {module_name(p, root): p for p in files}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in imports_of(path, root) if m in modules and m != name}
    return graph


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return [f"{src} imports {dst}" for src, targets in sorted(graph.items()) for dst in sorted(targets)
            if dst.split(".")[0] not in ALLOWED[src.split(".")[0]]]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan): each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_upward_import_and_no_import_circle():
    graph = import_graph(ROOT)
    assert len(graph) > 50  # the walk found the tree
    assert layer_violations(graph) == []
    assert cycles(graph) == []


def test_modules_stay_small():
    too_long = {str(p.relative_to(ROOT)): n for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert too_long == {}


def test_the_checker_sees_a_planted_upward_import_and_circle(tmp_path: Path):
    """The checks above can fail: a planted `env -> ui` import and an `agent.a <-> agent.b` circle are found."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "ui" / "page.py").write_text("X = 1\n")
    (tmp_path / "env" / "low.py").write_text("def f():\n    from ui.page import X\n    return X\n")
    (tmp_path / "agent" / "a.py").write_text("from agent import b\n")
    (tmp_path / "agent" / "b.py").write_text("from . import a\n")
    graph = import_graph(tmp_path)
    assert layer_violations(graph) == ["env.low imports ui.page"]
    assert cycles(graph) == [["agent.a", "agent.b"]]


@pytest.mark.parametrize("group", ["finetune", "ui"])
def test_the_upper_layers_reach_the_cli_through_entry_points(group: str):
    """`pricing finetune` and `pricing serve` come from entry points, so agent.cli imports neither layer."""
    from importlib.metadata import entry_points

    names = {e.name: e.value for e in entry_points(group="pricing.commands")}
    assert names[group] == f"{group}.cli:register"
    assert not any(m.startswith(group) for m in import_graph(ROOT)["agent.cli"])
