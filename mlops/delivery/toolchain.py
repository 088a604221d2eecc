"""The deploy builds' toolchain — the Pulumi CLI, its provider plugins and uv — from the platform's
CodeArtifact repository, so no build downloads a toolchain at run time (docs/deploy.md "Egress").

- uv is a PyPI package: the build pins it (`UV_VERSION`) and installs it from the platform index
  like every other package (the inference programs run with Pulumi's `toolchain: uv`).
- The Pulumi CLI and the provider plugins are release tarballs, kept as CodeArtifact *generic*
  packages in the same repository, namespace `pulumi`: `pulumi` (asset
  `pulumi-v<version>-linux-x64.tar.gz`) and `pulumi-resource-<provider>` (asset
  `pulumi-resource-<provider>-v<version>-linux-amd64.tar.gz`). The build fetches exactly the CLI
  version the platform sets (`PULUMI_VERSION`) and, for every `pulumi-<provider>` Python package
  the build installed, the plugin of that exact version; each asset is checked against the
  SHA-256 CodeArtifact recorded when it was published, then installed offline
  (`pulumi plugin install --file`), and the build runs with automatic plugin acquisition off.
- `publish` is the release step (the platform's publisher role, once per version): it checks
  each tarball against the release's checksums file and publishes it with its SHA-256. A version
  nobody published stops the build naming the package and this command.

    python -m mlops.delivery.toolchain install --pulumi-version 3.272.0      # in the build
    python -m mlops.delivery.toolchain publish --checksums SUMS.txt FILE...  # release step
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops import iam
from mlops.errors import MlopsError

UV_VERSION = "0.13.9"
NAMESPACE = "pulumi"
CLI_PACKAGE = "pulumi"
NOT_PROVIDERS = frozenset({"pulumi", "pulumi-policy"})
"""`pulumi-*` Python distributions that are not resource providers (no plugin to install)."""
ASSET_ACTIONS = ("codeartifact:ListPackageVersionAssets", "codeartifact:GetPackageVersionAsset")
PUBLISH = "python -m mlops.delivery.toolchain publish --checksums SUMS.txt FILE"
_ASSET = re.compile(
    r"(?:pulumi-v(?P<cli>[0-9][^-]*)-linux-x64"
    r"|pulumi-resource-(?P<provider>[a-z0-9-]+?)-v(?P<version>[0-9][^-]*)-linux-amd64)\.tar\.gz"
)


def cli_asset(version: str) -> str:
    return f"pulumi-v{version}-linux-x64.tar.gz"


def plugin_package(provider: str) -> str:
    return f"pulumi-resource-{provider}"


def plugin_asset(provider: str, version: str) -> str:
    return f"pulumi-resource-{provider}-v{version}-linux-amd64.tar.gz"


def providers(distributions: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{provider: version} of the installed `pulumi-<provider>` distributions (name, version)."""
    found = {}
    for dist, version in distributions:
        name = dist.lower().replace("_", "-")
        if name.startswith("pulumi-") and name not in NOT_PROVIDERS:
            found[name.removeprefix("pulumi-")] = version
    return dict(sorted(found.items()))


PLATFORM_PROVIDERS = ("aws", "snowflake")
"""The providers `mlops-platform` itself depends on (pyproject.toml), so every deploy build
installs their plugins; an inference repo may add more (their plugins are fetched the same way)."""


def installed_providers() -> dict[str, str]:
    from importlib import metadata

    return providers((d.metadata["Name"], d.version) for d in metadata.distributions())


def package_arn(region: str, account: str, domain: str, repository: str, package: str) -> str:
    return (
        f"arn:aws:codeartifact:{region}:{account}:package/{domain}/{repository}/generic/"
        f"{NAMESPACE}/{package}"
    )


def reader_statement(names: Any) -> dict[str, Any]:
    """The toolchain's assets (and their recorded hashes) in the platform repository's
    `pulumi` namespace: what `install` reads, nothing else (names: `packages.PackageNames`)."""
    every = package_arn(names.region, names.account, names.domain, names.repository, "*")
    return iam.statement("ToolchainAssets", list(ASSET_ACTIONS), every)


def install_calls(names: Any) -> list[dict[str, Any]]:
    """The calls `install` makes (runtime actors, mlops.rehearsal.declare): each package's
    asset list (its recorded SHA-256) and the asset, for the CLI and the platform's plugins."""
    from mlops.rehearsal import declare

    calls = []
    for package in (CLI_PACKAGE, *(plugin_package(p) for p in PLATFORM_PROVIDERS)):
        arn = package_arn(names.region, names.account, names.domain, names.repository, package)
        calls += [
            declare.call(ASSET_ACTIONS[0], arn, why=f"the recorded SHA-256 of {package}"),
            declare.call(ASSET_ACTIONS[1], arn, why=f"{package} from the platform repository"),
        ]
    return calls


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ToolchainError(MlopsError):
    """A toolchain asset is missing or does not match what was published."""


def fetch(client: Any, coords: Mapping[str, str], package: str, version: str, asset: str,
          dest: Path) -> Path:  # fmt: skip
    """Download one asset and check it against the SHA-256 CodeArtifact recorded for it."""
    where = {**coords, "format": "generic", "namespace": NAMESPACE, "package": package,
             "packageVersion": version}  # fmt: skip
    try:
        listed = client.list_package_version_assets(**where)["assets"]
    except client.exceptions.ResourceNotFoundException:
        raise ToolchainError(
            f"{NAMESPACE}/{package} {version} is not in the platform's package repository "
            f"({coords['repository']})",
            f"publish it once (the platform's publisher role): {PUBLISH}",
        ) from None
    recorded = next(
        (a.get("hashes", {}).get("SHA-256") for a in listed if a["name"] == asset), None
    )
    if not recorded:
        raise ToolchainError(
            f"{NAMESPACE}/{package} {version} has no asset {asset} with a SHA-256",
            f"publish the release tarball: {PUBLISH}",
        )
    body = client.get_package_version_asset(**where, asset=asset)["asset"]
    path = dest / asset
    with path.open("wb") as f:
        for chunk in iter(lambda: body.read(1 << 20), b""):
            f.write(chunk)
    actual = sha256(path)
    if actual != recorded:
        path.unlink()
        raise ToolchainError(
            f"{asset}: SHA-256 {actual} differs from the published {recorded}",
            "do not use it: republish the release's verified tarball",
        )
    return path


def install(
    client: Any,
    coords: Mapping[str, str],
    pulumi_version: str,
    plugins: Mapping[str, str],
    home: Path,
    run: Callable[..., Any] = subprocess.run,
) -> list[str]:
    """The Pulumi CLI into `<home>/.pulumi/bin` and each plugin through `pulumi plugin install
    --file`, all from the platform repository; returns what was installed."""
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", pulumi_version or ""):
        raise ToolchainError(
            f"PULUMI_VERSION must be an exact version (x.y.z), got {pulumi_version!r}",
            "the platform sets it on the deploy build (UseCaseArgs.pulumi_version)",
        )
    bin_dir = home / ".pulumi" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    done = []
    with tempfile.TemporaryDirectory() as tmp:
        cli = fetch(client, coords, CLI_PACKAGE, pulumi_version, cli_asset(pulumi_version),
                    Path(tmp))  # fmt: skip
        with tarfile.open(cli) as tar:
            for member in tar.getmembers():  # pulumi/<binary>: the binaries only, flattened
                if member.isfile() and member.name.startswith("pulumi/"):
                    member.name = Path(member.name).name
                    tar.extract(member, bin_dir, filter="data")
        done.append(f"pulumi {pulumi_version}")
        pulumi = str(bin_dir / "pulumi")
        for provider, version in plugins.items():
            tgz = fetch(client, coords, plugin_package(provider), version,
                        plugin_asset(provider, version), Path(tmp))  # fmt: skip
            run([pulumi, "plugin", "install", "resource", provider, version, "--file", str(tgz)],
                check=True)  # fmt: skip
            done.append(f"{plugin_package(provider)} {version}")
    return done


def parse_checksums(text: str) -> dict[str, str]:
    """`<sha256>  <file>` lines (the release's checksums file) as {file: sha256}."""
    sums = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            sums[parts[1].lstrip("*")] = parts[0]
    return sums


def publish(client: Any, coords: Mapping[str, str], files: Sequence[Path],
            checksums: Mapping[str, str]) -> list[str]:  # fmt: skip
    """Publish release tarballs as generic package versions, each only if it matches the
    release's checksum (the release step; the repository policy admits only the publishers)."""
    published = []
    for path in files:
        m = _ASSET.fullmatch(path.name)
        if m is None:
            raise ToolchainError(
                f"{path.name} is not a Pulumi CLI or plugin release tarball",
                "pass pulumi-v<x.y.z>-linux-x64.tar.gz or "
                "pulumi-resource-<provider>-v<x.y.z>-linux-amd64.tar.gz",
            )
        expected, actual = checksums.get(path.name), sha256(path)
        if expected != actual:
            raise ToolchainError(
                f"{path.name}: SHA-256 {actual} is not the release's ({expected or 'not listed'})",
                "download the tarball and its checksums file from the same release again",
            )
        package = CLI_PACKAGE if m["cli"] else plugin_package(m["provider"])
        version = m["cli"] or m["version"]
        with path.open("rb") as body:
            client.publish_package_version(
                **coords, format="generic", namespace=NAMESPACE, package=package,
                packageVersion=version, assetContent=body, assetName=path.name,
                assetSHA256=actual, unfinished=False,
            )  # fmt: skip
        published.append(f"{NAMESPACE}/{package} {version}")
    return published


def coordinates(env: Mapping[str, str]) -> dict[str, str]:
    from mlops.components.packages import ENV_DOMAIN, ENV_OWNER, ENV_REPOSITORY

    missing = [v for v in (ENV_DOMAIN, ENV_OWNER, ENV_REPOSITORY) if not env.get(v)]
    if missing:
        raise ToolchainError(
            f"the platform's package repository is not named: {', '.join(missing)} not set",
            "run in a platform build (it sets them) or export them",
        )
    return {"domain": env[ENV_DOMAIN], "domainOwner": env[ENV_OWNER],
            "repository": env[ENV_REPOSITORY]}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser(prog="python -m mlops.delivery.toolchain")
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("install", help="the Pulumi CLI and the installed providers' plugins")
    i.add_argument("--pulumi-version", default=os.environ.get("PULUMI_VERSION", ""))
    pub = sub.add_parser("publish", help="release tarballs into the platform repository")
    pub.add_argument("--checksums", type=Path, action="append", required=True)
    pub.add_argument("files", type=Path, nargs="+")
    a = p.parse_args(argv)
    import boto3

    client = boto3.client("codeartifact")
    coords = coordinates(os.environ)
    if a.command == "install":
        done = install(client, coords, a.pulumi_version, installed_providers(), Path.home())
    else:
        sums: dict[str, str] = {}
        for path in a.checksums:
            sums.update(parse_checksums(path.read_text()))
        done = publish(client, coords, a.files, sums)
    for line in done:
        print(line)
    return done


if __name__ == "__main__":  # pragma: no cover
    import sys

    try:
        main()
    except MlopsError as exc:
        print(f"error: {exc.message}\n  fix: {exc.fix}", file=sys.stderr)
        sys.exit(1)
