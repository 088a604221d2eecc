"""CLI glue for `mlops onboard`, `mlops update` and `mlops templates` (mlops/cli.py stays thin)."""

from __future__ import annotations

import os
from pathlib import Path

from mlops.onboarding.answers import load_answers_file
from mlops.onboarding.create import OnboardResult, onboard, uv_lock
from mlops.onboarding.errors import OnboardingError, UpdateConflictError
from mlops.onboarding.provider import GitProvider, provider_from_env
from mlops.onboarding.publish import open_update_pull_request
from mlops.onboarding.templates import TemplateInfo, discover
from mlops.onboarding.updates import RepoUpdate, UpdateResult, update, update_all


def onboard_command(
    name: str,
    template: str,
    answers_file: Path | None,
    out: Path,
    usecases_dir: Path | None,
    force: bool,
    *,
    lock: bool = False,
) -> OnboardResult:
    from mlops import console

    answers = load_answers_file(answers_file)
    doing = "rendering and locking" if lock else "rendering"
    with console.status(f"{doing} {name} from template {template}"):
        result = onboard(
            name, template, answers=answers, out=out, usecases_dir=usecases_dir, force=force,
            lock=uv_lock if lock else None,
        )  # fmt: skip
    console.success(
        f"onboarded {name} from template {result.template.name} {result.tag.removeprefix('v')}"
    )
    lines = [
        f"  training repo:  {result.repos['training']}",
        f"  inference repo: {result.repos['inference']}",
        f"  manifest:       {result.manifest}",
        "next steps:",
        *(f"  {n}. {step}" for n, step in enumerate(result.next_steps(), 1)),
    ]
    for line in lines:  # soft wrap: paths and commands stay on one line when piped
        console.out.print(line, markup=False, soft_wrap=True)
    return result


def update_command(repo: Path) -> UpdateResult:
    from mlops import console

    with console.status(f"updating {repo}"):
        result = update(repo)
    if result.conflicts:
        lines = [
            f"{path}: " + (f"markers at line {', '.join(map(str, marks))}" if marks else "rejected")
            for path, marks in sorted(result.conflicts.items())
        ]
        raise UpdateConflictError(
            f"updated {result.repo.name} {result.from_tag} -> {result.to_tag} with conflicts in "
            f"{len(lines)} file(s):\n  " + "\n  ".join(lines),
            "in each file choose between the two sides of every <<<<<<< before updating / ======= "
            "/ >>>>>>> after updating block, delete the markers, run the tests, then commit",
        )
    if result.up_to_date:
        console.success(f"{result.repo.name} is already at {result.template} {result.to_tag}")
        return result
    console.success(
        f"updated {result.repo.name} from {result.template} {result.from_tag} to {result.to_tag}"
    )
    for path in result.changed:
        console.info(f"  changed: {path}")
    console.info("review with `git diff`, run the tests, then commit")
    return result


def update_all_command(
    repos_dir: Path,
    dry_run: bool,
    open_prs: bool = False,
    provider: GitProvider | None = None,
    usecases_dir: Path | None = None,
) -> list[RepoUpdate]:
    from rich.table import Table

    from mlops import console

    if open_prs and provider is None:
        from mlops.config import load_stack_config

        provider = provider_from_env(owner=os.environ.get("MLOPS_GIT_OWNER")
                                     or load_stack_config("dev").git.owner)  # fmt: skip
    with console.status(f"updating every onboarded repo under {repos_dir}"
                        + (" (dry run, in clones)" if dry_run else "")):  # fmt: skip
        results = update_all(repos_dir, dry_run=dry_run, usecases_dir=usecases_dir,
                             clone_from=provider if open_prs else None)  # fmt: skip
        pr_errors = 0
        for r in results if open_prs else []:
            if r.status != "updated":
                continue
            try:
                r.pull_request = open_update_pull_request(r, provider).url  # type: ignore[arg-type]
                r.status = "pull request"
            except OnboardingError as exc:
                r.status, r.error = "failed", exc.message
                pr_errors += 1
    title = (
        "mlops update --all"
        + (" --dry-run" if dry_run else "")
        + (" --open-prs" if open_prs else "")
    )
    table = Table(title=title)
    for col in ("use case", "repo", "status", "version", "files", "conflicts"):
        table.add_column(col)
    for r in results:
        res = r.result
        conflicts = "" if res is None else "; ".join(
            f"{path}: " + (f"lines {', '.join(map(str, marks))}" if marks else "rejected")
            for path, marks in sorted(res.conflicts.items())
        )  # fmt: skip
        table.add_row(
            r.usecase, f"{r.repo.name} ({r.kind})",
            r.status if dry_run or r.status != "updated" else "updated (review, commit)",
            "" if res is None else f"{res.from_tag} -> {res.to_tag}",
            "" if res is None else str(len(res.changed)),
            conflicts or r.error or r.pull_request,
        )  # fmt: skip
    console.out.print(table)
    if dry_run:
        console.info("dry run: no repo was changed (each update ran in a throw-away clone)")
    failed = [r for r in results if r.status in ("missing", "failed")]
    if failed or (not dry_run and any(r.status == "conflicts" for r in results)):
        raise OnboardingError(
            f"{len(failed)} repo(s) could not be updated"
            + (", and some updates left conflict markers" if not dry_run else ""),
            "pass --repos-dir where the repos are checked out; resolve conflicts, then commit",
        )
    return results


def templates_command(as_json: bool = False, directory: Path | None = None) -> list[TemplateInfo]:
    """Print every template with its description, version and questions."""
    import json
    import sys

    from mlops import console

    found = discover(directory)
    if as_json:
        doc = [
            {
                "name": t.name,
                "version": t.version,
                "description": t.description,
                "questions": [
                    {
                        "name": q.name,
                        "type": q.type,
                        "default": q.default,
                        "choices": list(q.choices),
                        "help": q.help,
                    }
                    for q in t.visible_questions
                ],
            }
            for t in found
        ]
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return found
    from rich.table import Table
    from rich.text import Text

    summary = Table(title="use-case templates", title_justify="left")
    for column in ("template", "version", "description"):
        summary.add_column(column, no_wrap=column != "description")
    for t in found:
        summary.add_row(Text(t.name), Text(t.version), Text(t.description))
    console.out.print(summary)
    for t in found:
        questions = Table(title=f"{t.name} {t.version}: questions", title_justify="left")
        for column in ("question", "type", "default", "choices", "help"):
            questions.add_column(column, no_wrap=column in ("question", "type"))
        for q in t.visible_questions:
            choices = " | ".join(map(str, q.choices))
            cells = (q.name, q.type, q.describe_default(), choices, q.help)
            questions.add_row(*(Text(str(c)) for c in cells))
        console.out.print(questions)
    return found
