"""The deploy builds' toolchain from the platform's CodeArtifact repository (mlops.delivery.
toolchain): the buildspecs download nothing from the internet; `install` fetches the Pulumi CLI
and plugins as generic packages, checks each against its recorded SHA-256 and installs them
offline; `publish` admits only tarballs that match the release's checksums (botocore's Stubber
checks every request against the CodeArtifact API model)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from mlops.delivery import buildspecs, toolchain
from mlops.delivery.toolchain import ToolchainError

COORDS = {"domain": "mlops-dev-packages", "domainOwner": "111111111111",
          "repository": "mlops-dev-pypi"}  # fmt: skip


def _commands(spec: str) -> list[str]:
    phases = yaml.safe_load(spec)["phases"]
    return [c for phase in phases.values() for c in phase["commands"]]


@pytest.mark.parametrize("spec", [buildspecs.deploy(), buildspecs.smoke_test()])
def test_deploy_builds_download_no_toolchain_from_the_internet(spec) -> None:
    commands = _commands(spec)
    text = "\n".join(commands)
    assert "curl" not in text and "get.pulumi.com" not in text and "wget" not in text
    urls = [c for c in commands if "https://" in c]
    assert all(".codeartifact." in c for c in urls), urls  # only the platform's index
    # uv by the digests of its wheels (mlops.delivery.locked_install), before anything else
    assert any(f"uv=={toolchain.UV_VERSION} --hash=sha256:" in c for c in commands)
    install = commands.index(
        'python -m mlops.delivery.toolchain install --pulumi-version "$PULUMI_VERSION"'
    )
    # installed after the index login and the Python packages (their providers pick the plugins)
    assert install > max(i for i, c in enumerate(commands) if "pip install" in c)
    off = commands.index(
        "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_SKIP_UPDATE_CHECK=true"
    )
    assert install < off < min(i for i, c in enumerate(commands) if c.startswith("pulumi "))


def _tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _stub_asset(stub: Stubber, package: str, version: str, asset: str, data: bytes,
                recorded: str | None = None) -> None:  # fmt: skip
    where = {**COORDS, "format": "generic", "namespace": "pulumi", "package": package,
             "packageVersion": version}  # fmt: skip
    sha = recorded or hashlib.sha256(data).hexdigest()
    stub.add_response(
        "list_package_version_assets",
        {"assets": [{"name": asset, "hashes": {"SHA-256": sha}}]},
        where,
    )
    stub.add_response(
        "get_package_version_asset",
        {"asset": StreamingBody(io.BytesIO(data), len(data))},
        {**where, "asset": asset},
    )


@pytest.fixture
def client() -> Any:
    return boto3.client("codeartifact", region_name="eu-west-2", aws_access_key_id="x",
                        aws_secret_access_key="x")  # fmt: skip


def test_install_fetches_verifies_and_installs_offline(client, tmp_path: Path) -> None:
    cli = _tgz({"pulumi/pulumi": b"#!cli", "pulumi/pulumi-language-python": b"#!py"})
    aws = _tgz({"pulumi-resource-aws": b"plugin"})
    ran: list[list[str]] = []
    with Stubber(client) as stub:
        _stub_asset(stub, "pulumi", "3.272.0", "pulumi-v3.272.0-linux-x64.tar.gz", cli)
        _stub_asset(stub, "pulumi-resource-aws", "7.51.1",
                    "pulumi-resource-aws-v7.51.1-linux-amd64.tar.gz", aws)  # fmt: skip
        done = toolchain.install(client, COORDS, "3.272.0", {"aws": "7.51.1"}, tmp_path,
                                 run=lambda cmd, check: ran.append(cmd))  # fmt: skip
        stub.assert_no_pending_responses()
    bin_dir = tmp_path / ".pulumi" / "bin"
    assert (bin_dir / "pulumi").read_bytes() == b"#!cli"
    assert (bin_dir / "pulumi-language-python").exists()
    [cmd] = ran
    assert cmd[:6] == [str(bin_dir / "pulumi"), "plugin", "install", "resource", "aws", "7.51.1"]
    assert cmd[6] == "--file" and cmd[7].endswith("pulumi-resource-aws-v7.51.1-linux-amd64.tar.gz")
    assert done == ["pulumi 3.272.0", "pulumi-resource-aws 7.51.1"]


def test_a_tampered_asset_is_refused_and_removed(client, tmp_path: Path) -> None:
    cli = _tgz({"pulumi/pulumi": b"#!cli"})
    with Stubber(client) as stub:
        _stub_asset(stub, "pulumi", "3.272.0", "pulumi-v3.272.0-linux-x64.tar.gz", cli,
                    recorded="0" * 64)  # fmt: skip
        with pytest.raises(ToolchainError, match="differs from the published 0000"):
            toolchain.install(client, COORDS, "3.272.0", {}, tmp_path, run=None)
    assert not (tmp_path / ".pulumi" / "bin" / "pulumi").exists()


def test_an_unpublished_version_names_the_publish_command(client, tmp_path: Path) -> None:
    with Stubber(client) as stub:
        stub.add_client_error("list_package_version_assets", "ResourceNotFoundException")
        with pytest.raises(ToolchainError, match=r"pulumi/pulumi 3\.999\.0 is not in") as caught:
            toolchain.install(client, COORDS, "3.999.0", {}, tmp_path, run=None)
    assert "mlops.delivery.toolchain publish" in caught.value.fix
    with pytest.raises(ToolchainError, match="exact version"):
        toolchain.install(client, COORDS, "latest", {}, tmp_path, run=None)


def test_publish_admits_only_tarballs_matching_the_release_checksums(client, tmp_path) -> None:
    tarball = tmp_path / "pulumi-resource-aws-v7.51.1-linux-amd64.tar.gz"
    tarball.write_bytes(_tgz({"pulumi-resource-aws": b"plugin"}))
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    sums = toolchain.parse_checksums(f"{digest}  {tarball.name}\n{'1' * 64}  other.tar.gz\n")
    with pytest.raises(ToolchainError, match="is not the release's"):
        toolchain.publish(client, COORDS, [tarball], {tarball.name: "f" * 64})
    with Stubber(client) as stub:
        stub.add_response(
            "publish_package_version",
            {
                "format": "generic",
                "namespace": "pulumi",
                "package": "pulumi-resource-aws",
                "version": "7.51.1",
                "status": "Published",
            },
            {
                **COORDS,
                "format": "generic",
                "namespace": "pulumi",
                "package": "pulumi-resource-aws",
                "packageVersion": "7.51.1",
                "assetContent": ANY,
                "assetName": tarball.name,
                "assetSHA256": digest,
                "unfinished": False,
            },
        )
        assert toolchain.publish(client, COORDS, [tarball], sums) == [
            "pulumi/pulumi-resource-aws 7.51.1"
        ]
    with pytest.raises(ToolchainError, match="not a Pulumi CLI or plugin release tarball"):
        toolchain.publish(client, COORDS, [tmp_path / "random.tar.gz"], sums)


def test_the_platforms_providers_are_the_ones_its_package_depends_on() -> None:
    deps = tomllib.loads(Path("pyproject.toml").read_text())["project"]["dependencies"]
    names = [d.split(">")[0].split("=")[0].split("<")[0].strip() for d in deps]
    found = toolchain.providers((n, "1") for n in names)
    assert tuple(found) == toolchain.PLATFORM_PROVIDERS
