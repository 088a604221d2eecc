"""Publishing to the Git provider: an onboarded use case's two repos and its manifest pull request,
and one pull request per repo that `mlops update --all --open-prs` updated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops.onboarding.create import OnboardResult
from mlops.onboarding.errors import OnboardingError
from mlops.onboarding.provider import GitProvider, PullRequest, RemoteRepo
from mlops.onboarding.updates import RepoUpdate
from mlops.onboarding.vcs import git


@dataclass(frozen=True)
class Published:
    repos: dict[str, RemoteRepo]
    pull_request: PullRequest


def onboarding_branch(name: str) -> str:
    return f"onboard/{name}"


def publish_onboarding(
    result: OnboardResult,
    provider: GitProvider,
    platform_checkout: Path,
    platform_repo: str,
    *,
    base: str = "main",
) -> Published:
    """Create both repos in the provider and push their first commit, then push a branch of the
    platform repo adding the manifest and open its pull request.

    `platform_checkout` is a clone of `platform_repo` whose ``usecases/`` received the manifest
    (`onboard(..., usecases_dir=platform_checkout / "usecases")`)."""
    try:
        manifest = result.manifest.resolve().relative_to(platform_checkout.resolve())
    except ValueError:
        raise OnboardingError(
            f"the manifest {result.manifest} is not inside the platform checkout "
            f"{platform_checkout}",
            "onboard with --usecases-dir <platform checkout>/usecases",
        ) from None
    description = str(result.answers.get("description", ""))
    repos: dict[str, RemoteRepo] = {}
    for kind, path in result.repos.items():
        repos[kind] = provider.create_repo(
            path.name, description=f"{result.name} {kind} repo: {description}".strip(": ")
        )
        provider.push(path, path.name, ["main:refs/heads/main"])
    branch = onboarding_branch(result.name)
    version = result.tag.removeprefix("v")
    author = (f"{result.name} onboarding (mlops)", str(result.answers["owner_email"]))
    git("checkout", "-q", "-B", branch, cwd=platform_checkout)
    git("add", "--", manifest.as_posix(), cwd=platform_checkout)
    git(
        "commit",
        "-q",
        "--no-verify",
        "-m",
        f"onboard {result.name} from template {result.template.name} {version}",
        cwd=platform_checkout,
        author=author,
    )
    provider.push(platform_checkout, platform_repo, [f"{branch}:refs/heads/{branch}"])
    body = "\n".join(
        [
            f"Onboards **{result.name}** from template `{result.template.name}` {version}.",
            "",
            f"- training repo: {repos['training'].html_url or repos['training'].clone_url}",
            f"- inference repo: {repos['inference'].html_url or repos['inference'].clone_url}",
            f"- manifest: `{manifest.as_posix()}`",
            "",
            f"Once merged, `pulumi up` creates {result.name}'s model package group, roles, S3 "
            "prefixes and KMS grants, and CI/CD for both repos in each stack.",
        ]
    )
    pull = provider.open_pull_request(
        platform_repo,
        head=branch,
        base=base,
        title=f"Onboard {result.name} ({result.template.name} {version})",
        body=body,
    )
    return Published(repos, pull)


def update_branch(update: RepoUpdate) -> str:
    assert update.result is not None
    return f"mlops-update/{update.result.template}-{update.result.to_tag}"


def open_update_pull_request(update: RepoUpdate, provider: GitProvider) -> PullRequest:
    """Commit a clean `mlops update` on its own branch in the repo, push it and open (or find) its
    pull request against the repo's branch. The branch belongs to the platform: a re-run for the
    same template version replaces it (force push) and reuses the open pull request."""
    result = update.result
    if update.status != "updated" or result is None:
        raise OnboardingError(
            f"{update.repo.name} is {update.status}: only a clean update gets a pull request",
            "resolve conflicts locally with `mlops update <repo>`, then commit",
        )
    branch = update_branch(update)
    repo = update.repo
    git("checkout", "-q", "-B", branch, cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--no-verify", "-m",
        f"Update to template {result.template} {result.to_tag.removeprefix('v')} (mlops update)",
        cwd=repo)  # fmt: skip
    provider.push(repo, repo.name, [f"+{branch}:refs/heads/{branch}"])
    files = "\n".join(f"- `{path}`" for path in result.changed[:50])
    more = f"\n- … and {len(result.changed) - 50} more" if len(result.changed) > 50 else ""
    body = (
        f"`mlops update --all` moved this repo from template `{result.template}` "
        f"{result.from_tag} to {result.to_tag}, keeping local edits (no conflicts).\n\n"
        f"Changed files:\n{files}{more}\n\nReview, let CI run, then merge."
    )
    return provider.open_pull_request(
        repo.name, head=branch, base=update.branch,
        title=f"Update to {result.template} {result.to_tag.removeprefix('v')}", body=body,
    )  # fmt: skip
