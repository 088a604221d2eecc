"""Onboarding benchmark: render + validate one use case and 20 in a row (goal <= 10 s each).

One "use case" = what `mlops onboard` does (name and answer validation, manifest validation,
render of the training and the inference repo from the template store, `git init` + first commit
of each, all-or-nothing install) followed by a check of both rendered trees (no Jinja markers
left, every .py parses). The rendered repos' own test suites are not part of it.

Side by side in the same run: copier's stock path (`copier.run_copy` cloning the tagged store
repo for each repo) against ours (one export per version, a shared Jinja environment).

    python -m bench --only onboarding          # or: python -m bench.bench_onboarding [--quick]
"""

from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import row

TEMPLATE = "tabular-classification"
ANSWERS = {"owner_email": "bench@example.com"}


GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def _check_tree(root: Path) -> int:
    """Raise if a Jinja marker is left or a .py does not parse; return the files checked."""
    count = 0
    for path in root.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        # GitHub Actions expressions (`${{ github.sha }}`) are the workflows' own syntax
        text = GITHUB_EXPRESSION.sub("", path.read_text(errors="replace"))
        if "{{" in text or "{%" in text:
            raise AssertionError(f"Jinja left in {path}")
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))
        count += 1
    return count


def _onboard_and_check(name: str, work: Path, store: Any) -> int:
    from mlops.onboarding import onboard

    result = onboard(
        name,
        TEMPLATE,
        answers=dict(ANSWERS),
        out=work / "out",
        usecases_dir=work / "usecases",
        store=store,
    )
    return sum(_check_tree(repo) for repo in result.repos.values())


def _stock_copier_render(work: Path, store: Any, tag: str) -> None:
    """copier's own path: clone the store's tag for the repo, fresh Jinja environment."""
    import copier

    from mlops.onboarding import get_template, validate_answers

    info = get_template(TEMPLATE)
    answers = validate_answers(info, {"usecase_name": "stock", **ANSWERS})
    for kind in ("training", "inference"):
        copier.run_copy(
            src_path=store.url(TEMPLATE),
            dst_path=work / f"stock-{kind}-{time.perf_counter_ns()}",
            data={**answers, "repo_kind": kind},
            vcs_ref=tag,
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
        )


def run(quick: bool) -> list[dict[str, Any]]:
    from mlops.onboarding import TemplateStore, get_template

    in_a_row = 3 if quick else 20
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-onboarding-") as tmp:
        work = Path(tmp)
        store = TemplateStore(str(work / "store"))

        start = time.perf_counter()
        files = _onboard_and_check("first-case", work, store)
        cold = time.perf_counter() - start
        rows.append(
            row(
                "onboard + validate, 1 use case (cold: store snapshot, imports)",
                "goal <= 10 s",
                cold,
                "s",
                cold / 10.0,
                note=f"{files} files in 2 repos",
            )
        )

        start = time.perf_counter()
        for i in range(in_a_row):
            _onboard_and_check(f"case-{i:02d}", work, store)
        total = time.perf_counter() - start
        rows.append(
            row(
                f"onboard + validate, {in_a_row} use cases in a row",
                "goal <= 10 s",
                total,
                "s",
                total / 10.0,
            )
        )
        per_case = total / in_a_row
        rows.append(row("per use case (warm)", "baseline", per_case, "s"))

        tag = store.snapshot(get_template(TEMPLATE))
        repeats = 2 if quick else 5
        start = time.perf_counter()
        for _ in range(repeats):
            _stock_copier_render(work, store, tag)
        stock = (time.perf_counter() - start) / repeats
        rows.append(
            row(
                "stock copier.run_copy, 2 repos (render only)",
                "vs our onboard per use case (render + git + manifest + checks)",
                stock,
                "s",
                stock / per_case,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    os.environ.setdefault("MLOPS_TEMPLATE_STORE", tempfile.mkdtemp(prefix="bench-store-"))
    for r in run(quick):
        ratio = "" if r["ratio"] is None else f"  ratio {r['ratio']:.2f}"
        print(f"{r['name']:<66} {r['value']:8.2f} {r['unit']:<3} {r['compared']}{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
