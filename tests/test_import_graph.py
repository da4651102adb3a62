"""The import graph: no module imports another in a cycle, and packages import one way.

Every import is counted — module level, inside functions and under ``TYPE_CHECKING`` —
because a cycle hidden in a function-local import is still a cycle: it only moves the
failure to whichever caller happens to import first.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"scenegraph": "sceneforge.scenegraph", "reconstruct": "sceneforge.reconstruct",
            "render": "sceneforge.render", "engine": "sceneforge.engine"}
# engine -> {reconstruct, render} -> scenegraph (DESIGN.md)
ALLOWED = {
    "sceneforge.scenegraph": set(),
    "sceneforge.reconstruct": {"sceneforge.scenegraph"},
    "sceneforge.render": {"sceneforge.scenegraph"},
    "sceneforge.engine": {"sceneforge.scenegraph", "sceneforge.reconstruct", "sceneforge.render"},
}


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the four packages."""
    out = {}
    for folder, dotted in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join((dotted, *parts))] = path
    return out


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _imports(name: str, modules: dict[str, Path]) -> set[str]:
    """The sceneforge modules that module ``name`` imports, anywhere in its body."""
    tree = ast.parse(modules[name].read_text(), filename=str(modules[name]))
    package = name if _is_package(name, modules) else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
            found.update(t for t in targets if t in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source in modules:
                found.add(source)
            for alias in node.names:  # `from . import _x` imports the submodule _x
                sub = f"{source}.{alias.name}"
                if sub in modules:
                    found.add(sub)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, modules) for name in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
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
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def _top(name: str) -> str:
    return ".".join(name.split(".")[:2])


def test_no_module_imports_another_in_a_cycle():
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_packages_import_one_way():
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in _graph().items()
        for target in targets
        if _top(target) != _top(name) and _top(target) not in ALLOWED[_top(name)]
    )
    assert wrong == []


def test_other_packages_are_imported_through_their_public_modules():
    """Across packages, only a package's or sub-package's ``__init__`` is imported, never a private module."""
    modules = _modules()
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in _graph().items()
        for target in targets
        if _top(target) != _top(name) and not _is_package(target, modules)
    )
    assert wrong == []


def test_the_graph_sees_function_local_and_relative_imports():
    """The checker itself: a synthetic cycle through a function-local relative import is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _imports("sceneforge.engine", _modules())  # the engine's __init__ imports its modules


def subpackage_graph() -> dict[str, set[str]]:
    """Sub-package → the sub-packages it imports (for the docs; run this module as a script)."""
    out: dict[str, set[str]] = {}

    def group(name: str) -> str:
        return ".".join(name.split(".")[:3])

    for name, targets in _graph().items():
        out.setdefault(group(name), set()).update(group(t) for t in targets if group(t) != group(name))
    return out


if __name__ == "__main__":
    for source, targets in sorted(subpackage_graph().items()):
        print(f"{source.removeprefix('sceneforge.')} -> {', '.join(sorted(t.removeprefix('sceneforge.') for t in targets)) or '-'}")
