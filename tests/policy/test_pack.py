"""The pack as the Pulumi engine sees it: the real analyzer servicer, and the pack process itself.

policy/__main__.py is never imported (constructing a PolicyPack blocks); one test starts it as a
subprocess, reads the port it announces and asks it over gRPC what it contains, like the CLI does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from mlops.config import REPO_ROOT
from mlops.policy.base import REGISTRY
from mlops.policy.pack import PACK_NAME, PACK_VERSION, pack_arguments


def _servicer() -> _PolicyAnalyzerServicer:
    args = pack_arguments()
    return _PolicyAnalyzerServicer(
        args["name"], "0.1.0", args["policies"], args["enforcement_level"]
    )


def _struct(values: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def test_analyzer_info_lists_every_rule_with_level_and_config_schema() -> None:
    info = _servicer().GetAnalyzerInfo(empty_pb2.Empty(), None)
    assert info.name == PACK_NAME
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert set(levels) == set(REGISTRY)
    expected = {
        name: analyzer_pb2.MANDATORY if rule.level.value == "mandatory" else analyzer_pb2.ADVISORY
        for name, rule in REGISTRY.items()
    }
    assert levels == expected
    assert levels["kms-key-deletion-window"] == analyzer_pb2.ADVISORY
    retention = next(p for p in info.policies if p.name == "log-group-retention")
    schema = retention.configSchema.properties["minimumRetentionDays"]
    assert schema["default"] == 30
    assert all(p.remediation_steps for p in info.policies)


def test_engine_path_reports_resource_violation() -> None:
    """AnalyzeRequest -> the engine's own deserializer and proxies -> our rule."""
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        properties=_struct({"bucket": "b", "blockPublicAcls": True, "blockPublicPolicy": True}),
        urn="urn:pulumi:dev::mlops-platform::aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock::pab",
        name="pab",
    )
    response = _servicer().Analyze(request, None)
    found = [(d.policyName, d.enforcementLevel) for d in response.diagnostics]
    assert found == [("s3-public-access-block-full", analyzer_pb2.MANDATORY)]
    assert "ignorePublicAcls, restrictPublicBuckets" in response.diagnostics[0].message


def test_engine_path_reports_stack_violation_with_urn() -> None:
    bucket_urn = "urn:pulumi:dev::mlops-platform::aws:s3/bucket:Bucket::data"
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type="aws:s3/bucket:Bucket",
                properties=_struct({"bucket": "mlops-dev-data", "id": "mlops-dev-data"}),
                urn=bucket_urn,
                name="data",
            )
        ]
    )
    response = _servicer().AnalyzeStack(request, None)
    found = {(d.policyName, d.urn) for d in response.diagnostics}
    assert found == {
        ("s3-bucket-has-controls", bucket_urn),
        ("s3-deny-insecure-transport", bucket_urn),
    }


def test_engine_config_overrides_level() -> None:
    servicer = _servicer()
    servicer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                "kms-key-rotation": analyzer_pb2.PolicyConfig(
                    enforcementLevel=analyzer_pb2.ADVISORY
                )
            }
        ),
        None,
    )
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:kms/key:Key", properties=_struct({}), urn="urn:k", name="k"
    )
    response = servicer.Analyze(request, None)
    rotation = [d for d in response.diagnostics if d.policyName == "kms-key-rotation"]
    assert [d.enforcementLevel for d in rotation] == [analyzer_pb2.ADVISORY]
    assert EnforcementLevel.ADVISORY.value == "advisory"


def test_pack_process_starts_and_serves_its_rules() -> None:
    _serve_and_ask(REPO_ROOT / "policy")


def test_materialized_pack_serves_the_same_rules(tmp_path: Path) -> None:
    """What a use case's inference repo gets from `python -m mlops.policy.pack <dir>`."""
    out = subprocess.run(
        [sys.executable, "-m", "mlops.policy.pack", str(tmp_path / "pack")],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    pack = Path(out.stdout.strip())
    assert pack == tmp_path / "pack"
    manifest = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert manifest["version"] == PACK_VERSION
    _serve_and_ask(pack, cwd=tmp_path)  # cwd outside the repo: mlops comes from the environment


def _serve_and_ask(pack: Path, cwd: Path | None = None) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(pack / "__main__.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd or pack,
    )
    watchdog = threading.Timer(60, proc.kill)  # never hang the suite on a stuck pack
    watchdog.start()
    try:
        line = proc.stdout.readline().decode().strip()  # the pack announces its port
        if not line.isdigit():
            pytest.fail(f"pack did not start: {line!r} {proc.stderr.read().decode()[-2000:]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        deadline = time.monotonic() + 10
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=deadline - time.monotonic())
        assert info.name == PACK_NAME
        assert {p.name for p in info.policies} == set(REGISTRY)
        channel.close()
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait(timeout=10)


def test_engine_path_counts_provider_default_tags() -> None:
    """In a real deployment the provider's default tags satisfy required-tags."""
    tags = {
        "owner": "o",
        "cost-centre": "c",
        "data-classification": "internal",
        "environment": "dev",
    }

    def analyze(provider_tags: dict) -> list[str]:
        provider = analyzer_pb2.AnalyzerProviderResource(
            type="pulumi:providers:aws",
            properties=_struct({"defaultTags": json.dumps({"tags": provider_tags})}),
            urn="urn:pulumi:dev::mlops-platform::pulumi:providers:aws::aws",
            name="aws",
        )
        request = analyzer_pb2.AnalyzeRequest(
            type="aws:sqs/queue:Queue",
            properties=_struct({"name": "q", "tags": {"owner": "o"}}),
            urn="urn:q",
            name="q",
            provider=provider,
        )
        response = _servicer().Analyze(request, None)
        return [d.message for d in response.diagnostics if d.policyName == "required-tags"]

    assert analyze(tags) == []
    assert [m.splitlines()[-1] for m in analyze({})] == [
        "missing tags: cost-centre, data-classification, environment"
    ]
