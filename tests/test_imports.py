"""The import structure of ``gan_zoo`` has no circle.

The graph has an edge A -> B for every ``import B`` / ``from B import x`` in module A that names a
``gan_zoo`` module, wherever the statement stands: a deferred import inside a function closes a circle
just as well (it only postpones the failure to the first call, and hides the dependency). Imports under
``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gan_zoo"


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """``gan_zoo.x.y`` -> its file (``__init__.py`` for packages)."""
    out = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _import_statements(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking_block(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _import_statements(node)


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The ``gan_zoo`` modules that ``module`` imports (``from pkg import sub`` counts sub)."""
    found: set[str] = set()
    for node in _import_statements(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:  # relative: strip level packages from this module's package
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        found.update(name for name in names if name in known and name != module)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    files = module_files(package)
    return {module: imported_modules(module, path, set(files)) for module, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle as a path [a, b, ..., a], or None (depth-first search with an explicit stack)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in sorted(graph):
        if root in state:
            continue
        path, iterators = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while path:
            nxt = next(iterators[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iterators.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iterators.append(iter(sorted(graph[nxt])))
    return None


def test_cycle_finder_on_small_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "d"}, "b": {"d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}) == ["e", "e2", "e"]


def test_graph_sees_deferred_and_relative_imports(tmp_path):
    pkg = tmp_path / "gan_zoo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from gan_zoo import a\n")
    (pkg / "a.py").write_text("def f():\n    import gan_zoo.sub.b\n")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nfrom ..a import f\nif TYPE_CHECKING:\n    import gan_zoo\n"
    )
    graph = import_graph(pkg)
    assert graph == {
        "gan_zoo": {"gan_zoo.a"},
        "gan_zoo.a": {"gan_zoo.sub.b"},
        "gan_zoo.sub": {"gan_zoo.sub.b"},
        "gan_zoo.sub.b": {"gan_zoo.a"},
    }
    assert find_cycle(graph) == ["gan_zoo.a", "gan_zoo.sub.b", "gan_zoo.a"]


def test_gan_zoo_imports_have_no_circle():
    graph = import_graph()
    assert {"gan_zoo", "gan_zoo.registry", "gan_zoo.models.base"} <= set(graph)  # the graph found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)
