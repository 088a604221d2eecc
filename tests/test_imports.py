"""How `mlops/` imports itself: no cycles, and one module per imported name.

The import graph is read from the source with `ast` (nothing is imported). Every `import` and
`from … import` statement counts, wherever it stands: at module level, under
`if TYPE_CHECKING:`, or inside a function. A function-local import defers a dependency, it does
not remove it: two modules that reach each other through a deferred import are still one
tangle to read, to test and to move, and the deferral is the usual way a cycle gets hidden. So
the rule is the strict one, and the fix for a cycle is to move what both sides need into a
module below them (as `mlops.naming.names_for`, `mlops.rehearsal.runner.ScenarioResult`).

Not counted: imports built at run time (`importlib.import_module`, `__import__`: they name
modules of rendered repos or of pulumi-aws), and the implicit import of a package's
`__init__` when one of its submodules is imported (the `__init__` files of `mlops/` import
nothing of `mlops` except `mlops.rehearsal.provider_calls`, whose submodules only import each
other).
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mlops.config import REPO_ROOT

PACKAGE = REPO_ROOT / "mlops"
FIRST_PARTY_CODE = ("mlops", "platform", "policy", "bootstrap", "tests", "bench")
"""Where the one-name-one-module rule holds (templates render their own packages)."""

Graph = dict[str, dict[str, int]]
"""module -> {imported module: line of the first import statement}"""


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every `.py` file under `package_dir`."""
    root = package_dir.parent
    out: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module `name` denotes or lies in (`a.b.func` -> `a.b`), None outside the package."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(
    tree: ast.AST, module: str, is_package: bool, modules: Mapping[str, Path]
) -> Iterator[tuple[str | None, int]]:
    """(imported module of the package or None, line) of every import statement anywhere in
    `tree`. `from X import y` imports the module `X.y` when there is one, else `X`."""
    here = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _resolve(alias.name, modules), node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                parts = here.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{source}.{alias.name}"
                yield (full if full in modules else _resolve(source, modules)), node.lineno


def import_graph(package_dir: Path) -> Graph:
    modules = module_files(package_dir)
    graph: Graph = {m: {} for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        found = _imports(tree, module, path.name == "__init__.py", modules)
        for target, line in sorted(found, key=lambda f: f[1]):
            if target is not None and target != module:
                graph[module].setdefault(target, line)
    return graph


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm (iterative); components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first, inside it)."""
    members = set(component)
    start = component[0]
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node]):
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if child not in parent:
                parent[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle through {start} in {component}")  # a component has one


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


def describe(graph: Graph, component: list[str], files: Mapping[str, Path]) -> str:
    cycle = shortest_cycle(graph, component)
    hops = [
        f"  {a} ({_shown(files[a])}:{graph[a][b]}) imports {b}"
        for a, b in itertools.pairwise(cycle)
    ]
    head = " -> ".join(m.rpartition(".")[2] for m in cycle)
    return f"{head} (one cycle of {len(component)} tangled modules)\n" + "\n".join(hops)


def cycles_report(package_dir: Path) -> list[str]:
    graph = import_graph(package_dir)
    files = module_files(package_dir)
    return [describe(graph, c, files) for c in strongly_connected(graph)]


def test_mlops_has_no_import_cycles() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 100 and sum(map(len, graph.values())) > 300, "the graph was not read"
    report = cycles_report(PACKAGE)
    assert not report, (
        f"{len(report)} import cycle(s) in mlops/ (function-local and TYPE_CHECKING imports "
        "count; move what both sides need into a module below them):\n" + "\n".join(report)
    )


def _write(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


@pytest.mark.parametrize(
    "how",
    [
        "from pkg.b import g\n",
        "from pkg import b\n",
        "import pkg.b as bee\n",
        "def f():\n    from pkg.b import g\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import g\n",
        "from .sub import c\n",
    ],
    ids=["from-module", "from-package", "import-as", "function-local", "type-checking", "relative"],
)
def test_a_cycle_is_found_however_it_is_imported(tmp_path, how) -> None:
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": how,
            "pkg/b.py": "from pkg.a import f\ndef g(): ...\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from ..b import g\n",
            "pkg/leaf.py": "import os\nfrom pkg import a\n",
        },
    )
    report = cycles_report(package)
    assert len(report) == 1, report
    assert report[0].startswith(("a -> b -> a (", "a -> c -> b -> a (")), report
    assert "pkg/a.py:" in report[0] and "imports pkg.a" in report[0], report


def test_an_acyclic_package_reports_nothing(tmp_path) -> None:
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "def f():\n    from pkg.b import g\n",
            "pkg/b.py": "from pkg.c import h\ndef g(): ...\n",
            "pkg/c.py": "import json\ndef h(): ...\n",
        },
    )
    assert import_graph(package) == {
        "pkg": {},
        "pkg.a": {"pkg.b": 2},
        "pkg.b": {"pkg.c": 1},
        "pkg.c": {},
    }
    assert cycles_report(package) == []


# --- one name, one module --------------------------------------------------------------------
def module_bindings(roots: list[Path], modules: Mapping[str, Path]) -> dict[str, dict[str, str]]:
    """Local name -> {first-party module bound to it: where}, over every import statement that
    binds a module of `mlops` to a name (`from mlops.x import y`, `import mlops.x.y as z`)."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            where = _shown(path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    pairs = [(a.name, a.asname) for a in node.names if a.asname]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    pairs = [(f"{node.module}.{a.name}", a.asname or a.name) for a in node.names]
                else:
                    continue
                for module, name in pairs:
                    if module in modules:
                        out[name].setdefault(module, f"{where}:{node.lineno}")
    return out


def clashes(bindings: Mapping[str, Mapping[str, str]]) -> list[str]:
    return [
        f"{name!r} names {len(mods)} modules: "
        + ", ".join(f"{m} ({w})" for m, w in sorted(mods.items()))
        for name, mods in sorted(bindings.items())
        if len(mods) > 1
    ]


def test_one_name_means_one_module() -> None:
    """A reader who meets `docs.x` or `iam.x` knows which module that is, in every file."""
    roots = [REPO_ROOT / r for r in FIRST_PARTY_CODE if (REPO_ROOT / r).is_dir()]
    bindings = module_bindings(roots, module_files(PACKAGE))
    assert {"iam", "naming", "pc"} <= bindings.keys(), "the bindings were not read"
    found = clashes(bindings)
    assert not found, (
        "a name is bound to different mlops modules (import each under its own name):\n"
        + "\n".join(found)
    )


def test_a_name_bound_to_two_modules_is_reported(tmp_path) -> None:
    modules = {"mlops.delivery.iam": Path(), "mlops.inference.serving_docs": Path()}
    (tmp_path / "one.py").write_text("from mlops.delivery import iam as docs\n")
    (tmp_path / "two.py").write_text("def f():\n    import mlops.inference.serving_docs as docs\n")
    (tmp_path / "fine.py").write_text("from mlops.delivery import iam as docs\nimport json as d\n")
    found = clashes(module_bindings([tmp_path], modules))
    assert len(found) == 1 and found[0].startswith("'docs' names 2 modules"), found
