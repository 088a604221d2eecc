"""The training code as the SageMaker jobs read it: content-addressed in the pipeline-artifacts
bucket, under the use case's prefix (the TrainingPipeline build uploads it before it upserts and
starts the pipeline, and points the pipeline at exactly that version).

    <usecase>/code/<sha256 of source.tar.gz>/source.tar.gz   training jobs (the `code` channel)
    <usecase>/code/<sha256 of source.tar.gz>/src/<path>      processing jobs (scripts + packages)
    <usecase>/code/<sha256 of source.tar.gz>/input/SYNTHETIC the default input (templates that
                                                             generate data when given none)

The tarball is deterministic (sorted members, no timestamps or owners), so the same `src/` always
gets the same key: a re-run uploads nothing new, and a changed line gets a new version that an
execution already running never sees. Objects are written SSE-KMS with the platform's key.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARBALL = "source.tar.gz"
SYNTHETIC_MARKER = "SYNTHETIC"  # = mlops.sagemaker_pipelines.SYNTHETIC_MARKER
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


def source_files(repo: Path) -> list[Path]:
    """The files of `src/` the jobs need (sorted, without caches), relative to `src/`."""
    src = repo / "src"
    if not src.is_dir():
        raise FileNotFoundError(f"{repo} has no src/ folder (the training code)")
    files = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        skipped = _SKIP_DIRS.intersection(rel.parts) or ".egg-info" in str(rel)
        if path.is_file() and not skipped and not path.name.endswith(_SKIP_SUFFIXES):
            files.append(rel)
    return files


def package(repo: Path) -> bytes:
    """`src/`'s contents as a reproducible tar.gz (same bytes for the same files)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in source_files(repo):
            data = (repo / "src" / rel).read_bytes()
            info = tarfile.TarInfo(rel.as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


@dataclass(frozen=True)
class CodeLocation:
    usecase: str
    digest: str
    """sha256 (hex) of the tarball."""
    files: tuple[str, ...]
    """Paths under `src/`."""

    @property
    def prefix(self) -> str:
        return f"{self.usecase}/code/{self.digest}"

    @property
    def tarball_key(self) -> str:
        return f"{self.prefix}/{TARBALL}"

    @property
    def synthetic_input_key(self) -> str:
        """The version's default input: one marker object (an S3 input needs one object)."""
        return f"{self.prefix}/input/{SYNTHETIC_MARKER}"

    def keys(self) -> list[str]:
        """Every object the build writes, the tarball last (its presence means complete)."""
        files = [f"{self.prefix}/src/{f}" for f in self.files]
        return [*files, self.synthetic_input_key, self.tarball_key]


def locate(repo: Path, usecase: str) -> tuple[CodeLocation, bytes]:
    body = package(repo)
    files = tuple(f.as_posix() for f in source_files(repo))
    return CodeLocation(usecase, hashlib.sha256(body).hexdigest(), files), body


def upload(s3: Any, repo: Path, *, bucket: str, usecase: str, kms_key_arn: str) -> CodeLocation:
    """Upload the code version of `repo` (skipped when that exact version is already there)."""
    location, body = locate(repo, usecase)
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn}
    if _exists(s3, bucket, location.tarball_key):
        return location
    for rel in location.files:
        s3.put_object(
            Bucket=bucket,
            Key=f"{location.prefix}/src/{rel}",
            Body=(repo / "src" / rel).read_bytes(),
            **encryption,
        )
    s3.put_object(Bucket=bucket, Key=location.synthetic_input_key, Body=b"", **encryption)
    s3.put_object(
        Bucket=bucket,
        Key=location.tarball_key,
        Body=body,
        ChecksumSHA256=_b64_sha256(body),
        Metadata={"sha256": location.digest},
        **encryption,
    )
    return location


def _b64_sha256(body: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _exists(s3: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True
