"""Tests mirror the source tree (the rule in tests/README.md).

`tests/<dir>/test_<name>.py` tests `mlops/<dir>/<name>.py` (or the package `mlops/<dir>/<name>/`);
several files for one module are `test_<module>_<aspect>.py`. Top-level `tests/test_<name>.py`
mirrors `mlops/<name>.py` the same way. Suites that test no single module live in the
cross-cutting folders named below, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from pathlib import Path

from mlops.config import REPO_ROOT

TESTS = REPO_ROOT / "tests"
SOURCE = REPO_ROOT / "mlops"

CROSS_CUTTING: Mapping[str, str] = {
    "benchmarks": "bench/: the benchmark runner and the benchmarks' own logic",
    "hardening": "the whole decision path under faults, load, fuzzing and properties",
    "security": "repository-wide scans: bandit, secrets, Dependabot",
    "templates": "templates/: the copier templates, rendered, and the rendered repos' suites",
    "workflows": ".github/workflows and the workflows of the rendered repos",
    "rehearsal/flows": "runtime flows on the real rehearsal estate (xdist group `rehearsal`)",
}
"""Folders (relative to tests/) whose files test no single module of mlops/."""

REPO_WIDE: Set[str] = frozenset(
    {
        "test_layout.py",  # this file: where tests live
        "test_docs.py",  # module indexes stay true
        "test_imports.py",  # how mlops/ imports itself
        "test_package_indexes.py",  # every package's __init__ indexes its modules
        "test_stdlib_platform.py",  # platform/ is a program folder, never a package
    }
)
"""Top-level files that check the repository as a whole."""


def _modules(package: Path) -> set[str]:
    """Names of the modules and subpackages of `package`."""
    names = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    return names | {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}


def _cross_cutting(folder: str, cross_cutting: Set[str]) -> bool:
    return any(folder == c or folder.startswith(f"{c}/") for c in cross_cutting)


def misplaced(
    tests: Path,
    source: Path,
    cross_cutting: Set[str] = frozenset(CROSS_CUTTING),
    repo_wide: Set[str] = REPO_WIDE,
) -> list[str]:
    """One line per test file that mirrors no module and sits in no cross-cutting folder."""
    problems = []
    for path in sorted(tests.rglob("test_*.py")):
        rel = path.relative_to(tests)
        folder = rel.parent.as_posix()
        if _cross_cutting(folder, cross_cutting) or (folder == "." and rel.name in repo_wide):
            continue
        package = source if folder == "." else source / folder
        where = f"{source.name}/" if folder == "." else f"{source.name}/{folder}/"
        if not (package / "__init__.py").is_file():
            problems.append(
                f"tests/{rel}: {where} is not a package, so tests/{folder}/ mirrors nothing; "
                f"move the file next to the module it tests, or add its folder to CROSS_CUTTING"
            )
            continue
        name = path.stem.removeprefix("test_")
        folders = ", ".join(sorted(cross_cutting))
        modules = _modules(package)
        if name in modules or any(name.startswith(f"{m}_") for m in modules):
            continue
        problems.append(
            f"tests/{rel}: no module {where}{name}.py, and `{name}` does not start with the name "
            f"of one of {where}'s modules + '_'; rename it test_<module>[_<aspect>].py for the "
            f"module it tests, or move it to a cross-cutting folder ({folders})"
        )
    return problems


def test_every_test_file_mirrors_a_module_or_sits_in_a_cross_cutting_folder() -> None:
    problems = misplaced(TESTS, SOURCE)
    assert not problems, "\n".join(
        ["tests/README.md has the rule; move map: tests/MOVES.txt", *problems]
    )


def test_the_cross_cutting_folders_and_repo_wide_files_exist() -> None:
    assert [c for c in CROSS_CUTTING if not (TESTS / c).is_dir()] == []
    assert [f for f in sorted(REPO_WIDE) if not (TESTS / f).is_file()] == []


def test_every_folder_holding_tests_is_a_package() -> None:
    """Basenames repeat across folders (test_cli.py, test_governance.py): each folder below tests/
    is a package, so its modules import as `<folder>.test_x` and never collide."""
    folders = {p.parent for p in TESTS.rglob("test_*.py")} - {TESTS}
    missing = sorted(
        str(f.relative_to(TESTS)) for f in folders if not (f / "__init__.py").is_file()
    )
    assert missing == []


def test_a_misplaced_test_file_is_named(tmp_path: Path) -> None:
    source, tests = tmp_path / "mlops", tmp_path / "tests"
    for f in ("__init__.py", "naming.py", "components/__init__.py", "components/network.py",
              "rehearsal/__init__.py", "rehearsal/provider_calls/__init__.py"):  # fmt: skip
        (source / f).parent.mkdir(parents=True, exist_ok=True)
        (source / f).write_text("")
    placed = [
        "test_layout.py",
        "test_naming.py",
        "test_naming_physical.py",
        "components/test_network.py",
        "components/test_network_flow_logs.py",
        "rehearsal/test_provider_calls.py",
        "rehearsal/flows/test_governance.py",
        "hardening/test_load.py",
    ]
    wrong = [
        "test_nam.py",  # a prefix must end at a module name's end
        "test_somewhere.py",
        "components/test_nowhere.py",
        "components/test_networking.py",
        "usecases/test_rollback.py",  # mlops/usecases/ is no package
        "rehearsal/test_flows.py",
    ]
    for f in placed + wrong:
        (tests / f).parent.mkdir(parents=True, exist_ok=True)
        (tests / f).write_text("")
    found = misplaced(tests, source)
    assert [line.split(":")[0] for line in found] == sorted(f"tests/{f}" for f in wrong)
    assert "tests/usecases/test_rollback.py: mlops/usecases/ is not a package" in found[-1]
    assert "no module mlops/components/nowhere.py" in found[1]
