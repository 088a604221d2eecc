"""The Git provider onboarding and updates talk to: create a repo, push to it, open a pull request.

``GitProvider`` is the interface; ``GitHubProvider`` the real adapter (GitHub's REST API, and git
over HTTPS for pushes). The token comes from Secrets Manager (``token_from_secret``) in the
onboarding build, or from ``GH_TOKEN``/``GITHUB_TOKEN`` in CI; it never lands in a URL, a remote
or a git config file: pushes pass it as an HTTP header through git's environment
(``GIT_CONFIG_COUNT``), which other users cannot read.

Tests run the adapter against ``mlops.testing.fake_github``: an in-process HTTP server speaking
the same REST calls and real git smart HTTP (``git http-backend``).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlops.onboarding.errors import OnboardingError
from mlops.onboarding.vcs import git

GITHUB_API = "https://api.github.com"
GITHUB_GIT = "https://github.com"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class RemoteRepo:
    name: str
    clone_url: str
    html_url: str
    created: bool
    """False when the repo already existed (a retried onboarding): the push then decides."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    head: str
    base: str
    created: bool
    """False when an open pull request for the same branch already existed."""


class GitProvider(Protocol):
    """What onboarding and `mlops update --all --open-prs` need from a Git provider."""

    owner: str

    def clone_url(self, repo: str) -> str: ...

    def create_repo(self, repo: str, *, description: str, private: bool = True) -> RemoteRepo: ...

    def push(self, local: Path, repo: str, refspecs: list[str]) -> None: ...

    def clone(self, repo: str, into: Path, *, branch: str = "main") -> Path: ...

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str
    ) -> PullRequest: ...


def _check_url(url: str, what: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK):
        return url.rstrip("/")
    raise OnboardingError(
        f"{what} {url!r} is not https",
        "give the provider's https URL (plain http is accepted only on loopback, for tests)",
    )


class GitHubProvider:
    """GitHub (github.com or Enterprise Server): REST v3 for repos and pull requests, git over
    HTTPS for pushes, one token for both."""

    def __init__(
        self,
        owner: str,
        token: str,
        *,
        api_url: str = GITHUB_API,
        git_url: str = GITHUB_GIT,
        timeout: float = 30.0,
    ) -> None:
        if not owner:
            raise OnboardingError(
                "the Git provider has no owner", "set git.owner in Pulumi.dev.yaml"
            )
        if not token:
            raise OnboardingError(
                "no GitHub token", "set the onboarding token secret or GH_TOKEN (repo scope)"
            )
        self.owner = owner
        self._token = token
        self.api_url = _check_url(api_url, "GitHub API URL")
        self.git_url = _check_url(git_url, "GitHub git URL")
        self._timeout = timeout

    # --- REST ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in _check_url
            f"{self.api_url}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "mlops-platform",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                text = response.read().decode() or "null"
                return json.loads(text)
        except urllib.error.HTTPError as exc:
            raise _ApiError(method, path, exc.code, _message(exc)) from None
        except urllib.error.URLError as exc:
            raise OnboardingError(
                f"GitHub API {self.api_url} is unreachable: {exc.reason}",
                "check the build's network (it runs outside the VPC and needs GitHub)",
            ) from None

    def full_name(self, repo: str) -> str:
        """`name` (in the provider's owner) or `owner/name` as given."""
        return repo if "/" in repo else f"{self.owner}/{repo}"

    def clone_url(self, repo: str) -> str:
        return f"{self.git_url}/{self.full_name(repo)}.git"

    def create_repo(self, repo: str, *, description: str, private: bool = True) -> RemoteRepo:
        body = {
            "name": repo,
            "description": description[:350],
            "private": private,
            "auto_init": False,
            "has_wiki": False,
        }
        try:
            doc = self._request("POST", f"/orgs/{self.owner}/repos", body)
            created = True
        except _ApiError as exc:
            if exc.status != 422 or "already exists" not in exc.detail:
                raise exc.as_error(f"creating repo {self.owner}/{repo}") from None
            doc = self._request("GET", f"/repos/{self.owner}/{repo}")
            created = False
        return RemoteRepo(repo, self.clone_url(repo), str(doc.get("html_url", "")), created)

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str
    ) -> PullRequest:
        full = self.full_name(repo)
        try:
            doc = self._request(
                "POST",
                f"/repos/{full}/pulls",
                {"title": title, "head": head, "base": base, "body": body},
            )
            created = True
        except _ApiError as exc:
            if exc.status != 422 or "already exists" not in exc.detail:
                raise exc.as_error(f"opening a pull request on {full}") from None
            owner = full.split("/", 1)[0]
            query = urllib.parse.urlencode({"head": f"{owner}:{head}", "state": "open"})
            found = self._request("GET", f"/repos/{full}/pulls?{query}")
            if not found:
                raise exc.as_error(f"opening a pull request on {full}") from None
            doc, created = found[0], False
        return PullRequest(int(doc["number"]), str(doc["html_url"]), head, base, created)

    # --- git over HTTPS -----------------------------------------------------------------------
    def _git_env(self) -> dict[str, str]:
        basic = base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
        return {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": f"http.{self.git_url}/.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            "GIT_CONFIG_KEY_1": "credential.helper",
            "GIT_CONFIG_VALUE_1": "",
        }

    def push(self, local: Path, repo: str, refspecs: list[str]) -> None:
        try:
            git(
                "push",
                "--porcelain",
                self.clone_url(repo),
                *refspecs,
                cwd=local,
                env=self._git_env(),
            )
        except OnboardingError as exc:
            raise OnboardingError(
                f"pushing {', '.join(refspecs)} to {self.full_name(repo)} failed: "
                + _redact(exc.message, self._token),
                f"if {self.full_name(repo)} already has other commits, it is not this onboarding's "
                "repo: choose another use-case name, or remove the repo; else check the token",
            ) from None

    def clone(self, repo: str, into: Path, *, branch: str = "main") -> Path:
        try:
            git(
                "clone",
                "--quiet",
                "--branch",
                branch,
                self.clone_url(repo),
                str(into),
                cwd=into.parent,
                env=self._git_env(),
            )
        except OnboardingError as exc:
            raise OnboardingError(
                f"cloning {self.full_name(repo)} failed: " + _redact(exc.message, self._token),
                "check the platform repo's name and that the token may read it",
            ) from None
        return into


class _ApiError(Exception):
    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path}: {status} {detail}")
        self.status, self.detail = status, detail

    def as_error(self, doing: str) -> OnboardingError:
        fixes = {
            401: "the token is invalid or expired: put a new one in the onboarding token secret",
            403: "the token lacks permission (repo and workflow scopes on the organisation)",
            404: "the organisation or repo does not exist, or the token cannot see it",
        }
        return OnboardingError(
            f"{doing}: GitHub answered {self.status}: {self.detail}",
            fixes.get(self.status, "see GitHub's message above"),
        )


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        doc = json.loads(exc.read().decode() or "{}")
    except (ValueError, OSError):
        return exc.reason or ""
    parts = [str(doc.get("message", ""))]
    parts += [str(e.get("message", e)) for e in doc.get("errors", []) if isinstance(e, dict)]
    return "; ".join(p for p in parts if p)


def _redact(text: str, token: str) -> str:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return text.replace(token, "***").replace(basic, "***")


# --- configuration --------------------------------------------------------------------------------
def token_from_secret(secret_id: str, client: Any = None) -> str:
    """The Git token stored in Secrets Manager (its value set out of band)."""
    import boto3
    from botocore.exceptions import ClientError

    client = client or boto3.client("secretsmanager")
    fix = f"aws secretsmanager put-secret-value --secret-id {secret_id} --secret-string <token>"
    try:
        value = client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":  # also: created, no value put yet
            raise OnboardingError(
                f"secret {secret_id} has no value yet (or is missing)", fix
            ) from None
        raise OnboardingError(f"reading secret {secret_id} failed: {code}", fix) from None
    value = value.strip()
    if value.startswith("{"):  # {"token": "..."} as the console's key/value editor stores it
        value = str(json.loads(value).get("token", "")).strip()
    if not value:
        raise OnboardingError(f"secret {secret_id} is empty", fix)
    return value


def provider_from_env(
    env: dict[str, str] | None = None, *, owner: str | None = None
) -> GitProvider:
    """The provider the environment configures: MLOPS_GIT_PROVIDER (github), MLOPS_GIT_OWNER, the
    token from MLOPS_GIT_TOKEN_SECRET (Secrets Manager) or GH_TOKEN / GITHUB_TOKEN, and
    MLOPS_GIT_API_URL / MLOPS_GIT_URL for GitHub Enterprise."""
    env = dict(os.environ if env is None else env)
    kind = env.get("MLOPS_GIT_PROVIDER", "github")
    if kind != "github":
        raise OnboardingError(
            f"Git provider {kind!r} has no adapter yet",
            "use github (git.provider), or add an adapter beside GitHubProvider",
        )
    owner = owner or env.get("MLOPS_GIT_OWNER", "")
    if not owner:
        raise OnboardingError("MLOPS_GIT_OWNER is not set", "set it to the repos' organisation")
    if secret := env.get("MLOPS_GIT_TOKEN_SECRET"):
        token = token_from_secret(secret)
    else:
        token = env.get("GH_TOKEN") or env.get("GITHUB_TOKEN") or ""
    if not token:
        raise OnboardingError(
            "no Git token: MLOPS_GIT_TOKEN_SECRET, GH_TOKEN and GITHUB_TOKEN are all unset",
            "name the token's secret in MLOPS_GIT_TOKEN_SECRET, or export GH_TOKEN",
        )
    return GitHubProvider(
        owner,
        token,
        api_url=env.get("MLOPS_GIT_API_URL", GITHUB_API),
        git_url=env.get("MLOPS_GIT_URL", GITHUB_GIT),
    )
