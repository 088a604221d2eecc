"""A small, offline secret scanner for the repository's tracked files.

Finds AWS access key ids, secret-key assignments, private key blocks and Snowflake (or other)
passwords written as literals. Allowed: moto's documented fake credentials (`testing`), AWS's
documented example keys, empty values and placeholders (`${...}`, `{{ ... }}`, `{name}`, `<...>`,
Pulumi `secure:` values, environment look-ups).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Fake values that are safe by definition, each with where it is documented.
ALLOWED_VALUES: dict[str, str] = {
    "testing": "moto's documented fake credentials (docs.getmoto.org: AWS_ACCESS_KEY_ID=testing)",
    "AKIAIOSFODNN7EXAMPLE": "AWS documentation example access key id",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "AWS documentation example secret key",
}

ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])")
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----")
# key = "value" / key: 'value' / ("KEY", "value") with a literal string value
SECRET_ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<key>[\w.-]*(?:secret[_-]?access[_-]?key|secretaccesskey|secret[_-]?key|password|passwd|
                     private[_-]?key)[\w.-]*)
    ["']?\]?\s*(?:[:=]|,)\s*
    (?P<quote>["'])(?P<value>[^"'\n]*)(?P=quote)
    """
)
# YAML / env files: key: value or KEY=value without quotes
BARE_ASSIGNMENT = re.compile(
    r"""(?ix)^\s*(?:export\s+)?
    (?P<key>[\w.-]*(?:secret[_-]?access[_-]?key|password|passwd)[\w.-]*)
    \s*[:=]\s*(?P<value>[A-Za-z0-9/+=!@%^&*._~-]+)\s*(?:\#.*)?$"""
)
PLACEHOLDER = re.compile(
    r"^(?:\$\{?|\{\{|\{[\w.]*\}$|<|%\(|secure\b|os\.environ|env\.|\*+$|x+$|redacted$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.excerpt}"


# Shorter values cannot be real credentials: AWS secret keys have 40 characters and Snowflake's
# default password policy requires at least 8. Tests use stubs such as "t" or "x".
MIN_SECRET_LENGTH = 8


def _allowed(value: str) -> bool:
    value = value.strip()
    return (
        len(value) < MIN_SECRET_LENGTH or value in ALLOWED_VALUES or bool(PLACEHOLDER.match(value))
    )


def _mask(value: str) -> str:
    return value[:4] + "..." if len(value) > 4 else "..."


def scan_text(text: str, path: str = "<text>") -> list[Finding]:
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for m in ACCESS_KEY_ID.finditer(line):
            if m.group(1) not in ALLOWED_VALUES:
                findings.append(Finding(path, number, "AWS access key id", _mask(m.group(1))))
        if PRIVATE_KEY.search(line):
            findings.append(Finding(path, number, "private key block", line.strip()[:40]))
        for m in SECRET_ASSIGNMENT.finditer(line):
            if not _allowed(m.group("value")):
                kind = "password" if "pass" in m.group("key").lower() else "secret key"
                excerpt = f"{m.group('key')} = {_mask(m.group('value'))}"
                findings.append(Finding(path, number, f"{kind} literal", excerpt))
        m = BARE_ASSIGNMENT.match(line)
        if m and not _allowed(m.group("value")) and not SECRET_ASSIGNMENT.search(line):
            findings.append(Finding(path, number, "secret literal",
                                    f"{m.group('key')} = {_mask(m.group('value'))}"))  # fmt: skip
    return findings


def tracked_files(repo: Path = REPO) -> list[Path]:
    """Every file git tracks (what a clone would publish)."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout
    return [repo / p for p in out.split("\0") if p]


def scan_files(paths: list[Path], repo: Path = REPO) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        if not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (images)
        text = data.decode("utf-8", errors="replace")
        findings += scan_text(text, str(path.relative_to(repo)))
    return findings
