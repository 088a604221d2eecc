"""An in-process fake of GitHub for tests: the REST calls ``GitHubProvider`` makes, and real git
smart HTTP (``git http-backend``) over bare repos in a folder, on a loopback port.

REST: ``POST /api/orgs/{org}/repos``, ``GET /api/repos/{org}/{repo}``,
``POST|GET /api/repos/{org}/{repo}/pulls``. Git: ``/git/{org}/{repo}.git``. Every request must
carry the token (REST: ``Bearer``; git: Basic ``x-access-token:<token>``), as GitHub requires;
``requests`` records each one (method, path, authorised) so tests can assert on what was sent.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class FakePull:
    number: int
    repo: str
    head: str
    base: str
    title: str
    body: str
    state: str = "open"


@dataclass
class FakeGitHub:
    root: Path
    token: str = "ghs-fake-token"  # noqa: S105 - the fake's own test token
    org: str = "acme-insurance-ml"
    pulls: list[FakePull] = field(default_factory=list)
    requests: list[tuple[str, str, bool]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> FakeGitHub:
        self.root.mkdir(parents=True, exist_ok=True)
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None, "use FakeGitHub as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api"

    @property
    def git_url(self) -> str:
        return f"{self.base}/git"

    def env(self) -> dict[str, str]:
        """The environment `provider_from_env` reads to talk to this fake."""
        return {
            "MLOPS_GIT_PROVIDER": "github",
            "MLOPS_GIT_OWNER": self.org,
            "GH_TOKEN": self.token,
            "MLOPS_GIT_API_URL": self.api_url,
            "MLOPS_GIT_URL": self.git_url,
        }

    # --- state ------------------------------------------------------------------------------------
    def bare(self, repo: str, org: str | None = None) -> Path:
        return self.root / (org or self.org) / f"{repo}.git"

    def create(self, repo: str, org: str | None = None) -> Path:
        path = self.bare(repo, org)
        path.parent.mkdir(parents=True, exist_ok=True)
        _git("init", "-q", "--bare", "-b", "main", str(path), cwd=path.parent)
        _git("config", "http.receivepack", "true", cwd=path)
        return path

    def seed(self, repo: str, source: Path, org: str | None = None) -> Path:
        """A repo holding `source`'s history (e.g. the platform repo onboarding opens a PR on)."""
        path = self.create(repo, org)
        _git("push", "-q", str(path), "HEAD:refs/heads/main", cwd=source)
        return path

    def show(self, repo: str, ref: str, path: str) -> str:
        return _git("show", f"{ref}:{path}", cwd=self.bare(repo))

    def branches(self, repo: str) -> list[str]:
        return _git("for-each-ref", "--format=%(refname:short)", "refs/heads",
                    cwd=self.bare(repo)).split()  # fmt: skip


def _git(*args: str, cwd: Path) -> str:
    exe = shutil.which("git")
    assert exe is not None, "the fake GitHub needs git"
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, check=True)  # noqa: S603
    return proc.stdout


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    # --- plumbing ---------------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {"Content-Type": "application/json"}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc).encode())

    def _authorised(self, git: bool) -> bool:
        auth = self.headers.get("Authorization", "")
        token = self.github.token
        if git:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            return auth == f"Basic {basic}"
        return auth == f"Bearer {token}"

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        git = url.path.startswith("/git/")
        ok = self._authorised(git)
        self.github.requests.append((method, url.path, ok))
        body = self._body()
        if not ok:
            if git:
                self._send(401, b"", {"WWW-Authenticate": 'Basic realm="GitHub"'})
            else:
                self._json(401, {"message": "Bad credentials"})
            return
        if git:
            self._git(method, url, body)
            return
        parts = url.path.removeprefix("/api/").split("/")
        doc = json.loads(body or b"{}")
        if method == "POST" and len(parts) == 3 and parts[0] == "orgs" and parts[2] == "repos":
            self._create_repo(parts[1], doc)
        elif method == "GET" and len(parts) == 3 and parts[0] == "repos":
            self._get_repo(parts[1], parts[2])
        elif len(parts) == 4 and parts[0] == "repos" and parts[3] == "pulls":
            if method == "POST":
                self._open_pull(parts[1], parts[2], doc)
            else:
                self._list_pulls(parts[1], parts[2], urllib.parse.parse_qs(url.query))
        else:
            self._json(404, {"message": "Not Found"})

    # --- REST -------------------------------------------------------------------------------------
    def _repo_doc(self, org: str, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "full_name": f"{org}/{name}",
            "private": True,
            "html_url": f"{self.github.base}/{org}/{name}",
            "clone_url": f"{self.github.git_url}/{org}/{name}.git",
        }

    def _create_repo(self, org: str, doc: dict[str, Any]) -> None:
        name = str(doc.get("name", ""))
        if self.github.bare(name, org).exists():
            self._json(
                422,
                {
                    "message": "Repository creation failed.",
                    "errors": [{"message": "name already exists on this account"}],
                },
            )
            return
        self.github.create(name, org)
        self._json(201, self._repo_doc(org, name))

    def _get_repo(self, org: str, name: str) -> None:
        if not self.github.bare(name, org).exists():
            self._json(404, {"message": "Not Found"})
            return
        self._json(200, self._repo_doc(org, name))

    def _open_pull(self, org: str, name: str, doc: dict[str, Any]) -> None:
        head, base = str(doc.get("head", "")), str(doc.get("base", ""))
        if not self.github.bare(name, org).exists():
            self._json(404, {"message": "Not Found"})
            return
        branches = self.github.branches(name)
        if head not in branches or base not in branches:
            self._json(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"message": f"head {head} or base {base} is unknown"}],
                },
            )
            return
        for pull in self.github.pulls:
            if pull.repo == f"{org}/{name}" and pull.head == head and pull.state == "open":
                self._json(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"message": f"A pull request already exists for {org}:{head}."}],
                    },
                )
                return
        pull = FakePull(
            len(self.github.pulls) + 1,
            f"{org}/{name}",
            head,
            base,
            str(doc.get("title", "")),
            str(doc.get("body", "")),
        )
        self.github.pulls.append(pull)
        self._json(201, self._pull_doc(org, name, pull))

    def _pull_doc(self, org: str, name: str, pull: FakePull) -> dict[str, Any]:
        return {
            "number": pull.number,
            "html_url": f"{self.github.base}/{org}/{name}/pull/{pull.number}",
            "head": {"ref": pull.head},
            "base": {"ref": pull.base},
        }

    def _list_pulls(self, org: str, name: str, query: dict[str, list[str]]) -> None:
        head = (query.get("head") or [""])[0].split(":", 1)[-1]
        found = [
            self._pull_doc(org, name, p)
            for p in self.github.pulls
            if p.repo == f"{org}/{name}" and p.state == "open" and (not head or p.head == head)
        ]
        self._json(200, found)

    # --- git smart HTTP ---------------------------------------------------------------------------
    def _git(self, method: str, url: urllib.parse.SplitResult, body: bytes) -> None:
        backend = shutil.which("git")
        assert backend is not None
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(self.github.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": url.path.removeprefix("/git"),
            "QUERY_STRING": url.query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        proc = subprocess.run(  # noqa: S603 - git http-backend on the fake's own folder
            [backend, "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            check=False,
        )
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        self._send(status, payload, headers)
