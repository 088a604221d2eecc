"""One way to write IAM: every policy document is built by `mlops/iam.py`'s
`statement`/`document` (so every statement has a Sid and a document never repeats one), and no
module is imported under a name that is another module's."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mlops import iam
from mlops.config import REPO_ROOT

BUILDERS = REPO_ROOT / "mlops" / "iam.py"
"""The one module that may write a statement or a document as a dict literal."""
DOCUMENT_CODE = ("mlops", "platform", "policy", "bootstrap", "templates")
"""Code that builds policies: the library, the programs, the policy pack, the templates' code."""
FIRST_PARTY_CODE = (*DOCUMENT_CODE, "tests", "bench")
POLICY_KEYS = {"Statement", "Effect"}
"""A dict with one of these keys is a policy document or a statement."""


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


def _python_files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts)


# --- raw policy documents ---------------------------------------------------------------------
def _is_policy_key(key: str, value: ast.expr | None) -> bool:
    if key in POLICY_KEYS:
        return True
    return key == "Version" and isinstance(value, ast.Constant) and value.value == iam.VERSION


def raw_documents(roots: Iterable[Path], builders: Path = BUILDERS) -> list[str]:
    """`file:line` of every dict literal (or `dict(...)` call) with a Statement or Effect key, or
    Version "2012-10-17", outside `builders`."""
    found = []
    for path in _python_files(roots):
        if path.resolve() == builders.resolve():
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                pairs = [
                    (k.value, v)
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                ]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
                pairs = [(k.arg, k.value) for k in node.keywords if k.arg]
            else:
                continue
            keys = sorted(k for k, v in pairs if _is_policy_key(k, v))
            if keys:
                found.append((path, node.lineno, keys))
    return [f"{_shown(p)}:{line} ({', '.join(keys)})" for p, line, keys in sorted(found)]


def test_no_policy_document_is_written_outside_the_builders() -> None:
    roots = [REPO_ROOT / r for r in DOCUMENT_CODE]
    assert any(p == BUILDERS for p in _python_files(roots)), "the builders were not scanned"
    found = raw_documents(roots)
    assert not found, (
        "policy documents or statements written as dicts (build them with mlops.iam.statement "
        "and mlops.iam.document, which give every statement a Sid and reject duplicates):\n"
        + "\n".join(found)
    )


def test_a_raw_document_or_statement_is_reported(tmp_path: Path) -> None:
    (tmp_path / "raw.py").write_text(
        "def trust(service):\n"
        "    return {'Version': '2012-10-17', 'Statement': [\n"
        "        {'Effect': 'Allow', 'Principal': {'Service': service}, 'Action': 'sts:*'}\n"
        "    ]}\n"
        "ST = dict(Sid='A', Effect='Allow', Action='s3:GetObject', Resource='*')\n"
        "EMPTY = {'Version': '2012-10-17'}\n"
    )
    (tmp_path / "fine.py").write_text(
        "from mlops import iam\n"
        "DOC = iam.document(iam.statement('Read', 's3:GetObject', '*'))\n"
        "SCHEMA = {'Version': 2, 'Type': 'x'}\n"
        "STATEMENTS = DOC['Statement']\n"
    )
    (tmp_path / "builders.py").write_text("def document():\n    return {'Statement': []}\n")
    found = raw_documents([tmp_path], builders=tmp_path / "builders.py")
    raw = _shown(tmp_path / "raw.py")
    assert found == [
        f"{raw}:2 (Statement, Version)",
        f"{raw}:3 (Effect)",
        f"{raw}:5 (Effect)",
        f"{raw}:6 (Version)",
    ], found


# --- statement ids of what the platform builds ------------------------------------------------
def sid_problems(doc: Mapping[str, Any]) -> list[str]:
    """Statements without a Sid, and Sids used twice, in one policy document."""
    statements = doc.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    sids = [s.get("Sid") for s in statements]
    problems = [f"statement {i} has no Sid" for i, sid in enumerate(sids) if not sid]
    problems += [f"Sid {s!r} is used {sids.count(s)} times" for s in sorted(set(sids) - {None})
                 if sids.count(s) > 1]  # fmt: skip
    return problems


def documents_in(value: Any, where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every policy document in a resource's inputs: dicts with a Statement, and JSON strings of
    them (how the programs pass policies to the provider)."""
    if isinstance(value, str) and value.lstrip().startswith("{") and "Statement" in value:
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        if "Statement" in value:
            yield where, value
            return
        for key, inner in value.items():
            yield from documents_in(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from documents_in(inner, f"{where}[{i}]")


@pytest.fixture(scope="module")
def estate_documents() -> dict[str, Mapping[str, Any]]:
    """Every document the estate's programs register (bootstrap, every platform stack, the
    Remedy inference program for dev, staging and prod) and every policy the rehearsal's estate
    evaluates (the landing zone's, the people's, the resource policies it models)."""
    from mlops.rehearsal.estate import build_estate
    from mlops.rehearsal.programs import build_estate_runs

    runs = build_estate_runs("remedy")
    out: dict[str, Mapping[str, Any]] = {}
    for run in runs.runs.values():
        for r in run.resources:
            for where, doc in documents_in(r.inputs, ""):
                out[f"{run.name} {r.type} {r.name}{where}"] = doc
    estate = build_estate(runs)
    for arn, p in estate.principals.items():
        for policy in (*p.identity_policies, p.boundary, p.trust_policy):
            if policy is not None:
                out[f"estate {arn}: {policy.name}"] = policy.document
    for policies in (estate.resource_policies, estate.managed_policies):
        for arn, policy in policies.items():
            out[f"estate {arn}: {policy.name}"] = policy.document
    for holder in (*estate.keys.values(), *estate.buckets.values()):
        if holder.policy is not None:
            out[f"estate {holder.policy.name}"] = holder.policy.document
    return out


def test_every_document_the_platform_builds_names_each_statement_once(
    estate_documents: Mapping[str, Mapping[str, Any]],
) -> None:
    assert len(estate_documents) > 300, "the estate's documents were not read"
    problems = [
        f"{where}: {problem}"
        for where, doc in sorted(estate_documents.items())
        for problem in sid_problems(doc)
    ]
    assert not problems, "\n".join(problems)


def test_missing_and_repeated_sids_are_reported() -> None:
    doc = {"Statement": [{"Sid": "A"}, {"Effect": "Allow"}, {"Sid": "A"}, {"Sid": "B"}]}
    assert sid_problems(doc) == ["statement 1 has no Sid", "Sid 'A' is used 2 times"]
    assert sid_problems(iam.document(iam.statement("A", "s3:GetObject", "*"))) == []
    with pytest.raises(ValueError, match="duplicate statement ids"):
        iam.document(iam.statement("A", "s3:GetObject", "*"), iam.statement("A", "s3:Put*", "*"))


# --- one module, its own name -----------------------------------------------------------------
def first_party_module_names(roots: Iterable[Path]) -> set[str]:
    """The last component of every first-party module and package (`iam`, `policies`,
    `remedy_inference`) and the repository's top-level folders (`docs` is importable as a
    namespace package from the repository root)."""
    names = {p.name for p in REPO_ROOT.iterdir() if p.is_dir() and p.name.isidentifier()}
    for path in _python_files(roots):
        names.add(path.parent.name if path.name == "__init__.py" else path.stem)
    return names


def module_names(roots: Iterable[Path]) -> set[str]:
    """Names that are a module's: first party, the standard library, installed distributions'
    top-level packages."""
    return (
        first_party_module_names(roots)
        | set(sys.stdlib_module_names)
        | set(importlib.metadata.packages_distributions())
    )


def first_party_modules(roots: Iterable[Path]) -> set[str]:
    """Every dotted name a first-party module can be imported by (each tail of its path:
    `mlops.delivery.policies`, `remedy_inference.settings`, ...)."""
    out = set()
    for path in _python_files(roots):
        parts = path.relative_to(REPO_ROOT.anchor).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out |= {".".join(parts[i:]) for i in range(len(parts))}
    return out


def _third_party_module(dotted: str) -> bool:
    """Whether `dotted` is an installed module, found on disk (nothing is imported)."""
    top, *rest = dotted.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if not rest:
        return True
    for location in spec.submodule_search_locations or ():
        here = Path(location).joinpath(*rest)
        if here.with_suffix(".py").is_file() or (here / "__init__.py").is_file():
            return True
        if any(here.parent.glob(f"{here.name}.*.so")):
            return True
    return False


def _package_of(path: Path, roots: Iterable[Path]) -> str:
    for root in roots:
        if path.is_relative_to(root.parent):
            return ".".join(path.relative_to(root.parent).parent.parts)
    return ""


def aliased_modules(roots: list[Path], names: set[str]) -> list[str]:
    """`file:line` of every `import a.b as c` / `from a import b as c` that binds a module to a
    name `c` other than its own (`b`, or `_b` for an import kept for its side effects) when `c`
    is some module's name: a reader who meets `c.x` looks in the wrong module."""
    found = []
    first_party = first_party_modules(roots)
    for path in _python_files(roots):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                pairs = [(a.name, a.asname) for a in node.names if a.asname]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = _package_of(path, roots).split(".")
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join([*package, *([base] if base else [])])
                pairs = [(f"{base}.{a.name}", a.asname) for a in node.names if a.asname]
            else:
                continue
            for module, alias in pairs:
                own = module.rsplit(".", 1)[-1]
                if alias in (own, f"_{own}") or alias not in names:
                    continue
                if module in first_party or _third_party_module(module):
                    found.append(f"{_shown(path)}:{node.lineno}: {module} imported as {alias!r}")
    return found


def test_no_module_is_imported_under_another_modules_name() -> None:
    roots = [REPO_ROOT / r for r in FIRST_PARTY_CODE if (REPO_ROOT / r).is_dir()]
    names = module_names(roots)
    assert {"iam", "policies", "docs", "json"} <= names, "the module names were not read"
    found = aliased_modules(roots, names)
    assert not found, "import each module under its own name:\n" + "\n".join(found)


def test_an_import_under_another_modules_name_is_reported(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for name in ("__init__.py", "iam.py", "docs.py", "sub/__init__.py", "sub/roles.py"):
        (pkg / name).write_text("")
    (pkg / "user.py").write_text(
        "from pkg import iam as docs\n"  # another module's name
        "import pkg.sub.roles as iam\n"  # another module's name, `import a.b as c`
        "from . import iam as json\n"  # a standard library module's name, relative import
        "from pkg import iam as policy_builders\n"  # not a module's name
        "from pkg.sub import roles as _roles\n"  # its own name, kept for side effects
        "from pkg.docs import NAME as iam\n"  # not a module
        "import json as docs\n"  # a module aliased, but the alias names a first-party module
    )
    roots = [pkg]
    found = aliased_modules(roots, module_names(roots))
    shown = _shown(pkg / "user.py")
    assert found == [
        f"{shown}:1: pkg.iam imported as 'docs'",
        f"{shown}:2: pkg.sub.roles imported as 'iam'",
        f"{shown}:3: pkg.iam imported as 'json'",
        f"{shown}:7: json imported as 'docs'",
    ], found
