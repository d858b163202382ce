"""The project's own imports point down: no circles, none hidden in functions.

The graph is read from the source (``ast``), not from ``sys.modules``, so an
import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "plugins")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
    }


def imported(node: ast.AST, modules: Mapping[str, Path]) -> Iterator[str]:
    """The project modules an import statement loads (a name imported from a
    package is the package, a submodule imported from it is the submodule)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for alias in node.names:
            submodule = f"{node.module}.{alias.name}"
            names.append(submodule if submodule in modules else node.module)
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            yield name


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = project_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            graph[name].update(t for t in imported(node, modules) if t != name)
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle (``[a, b, a]``), or ``None`` when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def hidden_imports(root: Path) -> list[str]:
    """Imports of the project's own modules that are not at a module's top."""
    modules = project_modules(root)
    found = []
    for path in modules.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if id(node) in top or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if any(True for _ in imported(node, modules)):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_import_graph_has_no_cycle() -> None:
    cycle = find_cycle(import_graph(ROOT))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_project_modules_are_imported_at_the_top() -> None:
    assert hidden_imports(ROOT) == []


def write_package(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "b_text",
    [
        "from harness.a import thing\n",  # module level
        "def f():\n    from harness import a\n    return a\n",  # hidden in a function
    ],
)
def test_a_cycle_is_found_wherever_the_import_hides(
    tmp_path: Path, b_text: str
) -> None:
    write_package(
        tmp_path,
        {
            "harness/__init__.py": "",
            "harness/a.py": "from harness.b import other\nthing = 1\n",
            "harness/b.py": b_text + "other = 2\n",
            "plugins/__init__.py": "",
        },
    )
    assert find_cycle(import_graph(tmp_path)) in (
        ["harness.a", "harness.b", "harness.a"],
        ["harness.b", "harness.a", "harness.b"],
    )


def test_a_package_reexporting_its_modules_is_no_cycle(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "harness/__init__.py": "",
            "harness/p/__init__.py": "from harness.p.x import X\n",
            "harness/p/x.py": "from harness.p.y import Y\nX = Y\n",
            "harness/p/y.py": "Y = 1\n",
            "plugins/__init__.py": "",
        },
    )
    assert find_cycle(import_graph(tmp_path)) is None
    assert hidden_imports(tmp_path) == []
