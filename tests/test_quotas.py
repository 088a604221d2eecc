"""AWS quotas and naming rules over every recorded resource: the checks on
synthetic resources, then the platform stacks built with 1, 10 and 75 generated use cases."""

from __future__ import annotations

import json
import time

import pytest

from mlops.delivery.deployer import MANAGED_POLICIES_MAX
from mlops.quotas import (
    bucket_name_problems,
    check_resources,
    check_stack,
    generated_usecases,
    policy_size,
    usecase_names,
)
from mlops.testing.mocks import RecordedResource
from mlops.usecases import NAME_MAX, load_manifests


def _r(typ: str, logical: str, physical: str | None = None, **inputs) -> RecordedResource:
    return RecordedResource(
        type=typ, name=logical, inputs=inputs, custom=True, urn=f"urn:{logical}",
        state={**inputs, "id": f"{logical}-id"}, id=f"{logical}-id", physical_name=physical,
    )  # fmt: skip


def _doc(n_statements: int) -> str:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement] * n_statements}, indent=4)


def _violations(resources, limit: str) -> list[str]:
    return [v.resource for v in check_resources(resources).violations if v.limit == limit]


def test_managed_policies_per_role() -> None:
    role = _r("aws:iam/role:Role", "lead", "mlops-dev-lead", name="mlops-dev-lead")
    attach = [
        _r(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            f"a{i}",
            role="mlops-dev-lead",
            policyArn=f"arn:aws:iam::1:policy/p{i}",
        )
        for i in range(11)
    ]
    assert _violations([role, *attach[:10]], "iam.managed-per-role") == []
    assert _violations([role, *attach], "iam.managed-per-role") == ["lead"]


def test_policy_sizes_count_without_whitespace() -> None:
    assert policy_size(_doc(1)) == len(json.dumps(json.loads(_doc(1)), separators=(",", ":")))
    role = _r("aws:iam/role:Role", "r", "r", name="r", assumeRolePolicy=_doc(40))
    inline = [_r("aws:iam/rolePolicy:RolePolicy", f"p{i}", role="r", policy=_doc(60))
              for i in range(3)]  # fmt: skip
    managed = _r("aws:iam/policy:Policy", "m", "m", policy=_doc(100))
    report = check_resources([role, *inline, managed])
    broken = {v.limit for v in report.violations}
    assert broken == {
        "iam.trust-policy-size", "iam.inline-size-per-role", "iam.managed-policy-size"
    }  # fmt: skip
    assert not _violations([role, inline[0]], "iam.inline-size-per-role")


def test_name_rules() -> None:
    assert bucket_name_problems("mlops-dev-data-111111111111-eu-west-2") == []
    assert bucket_name_problems("Mlops_dev")
    assert bucket_name_problems("a" * 64)
    assert bucket_name_problems("192.168.1.1")
    assert bucket_name_problems("xn--bucket")
    assert bucket_name_problems("my..bucket")
    long_role = _r("aws:iam/role:Role", "r", "r" * 65, name="r" * 65)
    assert _violations([long_role], "iam.role-name") == ["r"]
    group = _r("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "g",
               modelPackageGroupName="mlops_dev_models")  # fmt: skip
    assert _violations([group], "sagemaker.name") == ["g"]
    machine = _r("aws:sfn/stateMachine:StateMachine", "sm", "deploy flow", name="deploy flow")
    assert _violations([machine], "states.name") == ["sm"]


def test_security_group_rules_and_endpoints() -> None:
    sg = _r("aws:ec2/securityGroup:SecurityGroup", "sg", "sg", name="sg")
    rules = [_r("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"in{i}",
                securityGroupId="sg-id") for i in range(61)]  # fmt: skip
    assert _violations([sg, *rules[:60]], "ec2.sg-inbound-rules") == []
    assert _violations([sg, *rules], "ec2.sg-inbound-rules") == ["sg"]
    endpoints = [_r("aws:ec2/vpcEndpoint:VpcEndpoint", f"e{i}", vpcId="vpc-1",
                    vpcEndpointType="Interface") for i in range(51)]  # fmt: skip
    assert _violations(endpoints, "vpc.interface-endpoints") == ["vpc-1"]


def test_generated_usecases_are_valid_and_as_long_as_allowed() -> None:
    names = usecase_names(75)
    assert len(set(names)) == 75
    assert max(len(n) for n in names) == NAME_MAX
    with generated_usecases(75) as generated:
        assert [m.name for m in load_manifests()] == sorted(generated)


# --- the platform stacks at 1, 10 and 75 use cases --------------------------------------------


@pytest.mark.parametrize(
    ("stack", "count"),
    [(s, n) for n in (1, 10) for s in ("dev", "staging", "prod")] + [("staging", 75), ("prod", 75)],
)
def test_quotas_hold(stack: str, count: int) -> None:
    report = check_stack(stack, count)
    assert report.violations == []
    figures = report.figures()
    # shared roles get nothing attached per use case; a use case's deployer has its own policies
    # (deployer_managed_policies), so the figure does not grow with the count
    assert figures["iam.managed-per-role"]["value"] <= MANAGED_POLICIES_MAX
    assert figures["iam.roles-per-account"]["value"] < 1_000


@pytest.mark.slow
def test_quotas_hold_at_75_usecases_in_dev() -> None:
    """Dev is the stack that grows with use cases (registry, pipelines, approver roles): one
    build at 75 use cases takes ~25 s of CPU, over 3 minutes on a loaded machine, hence `slow`
    (staging and prod at 75 take ~15 s and run in `test_quotas_hold`)."""
    started = time.process_time()
    report = check_stack("dev", 75)
    cpu = time.process_time() - started
    assert report.violations == [], [v.message for v in report.violations]
    figures = report.figures()
    assert figures["iam.managed-per-role"]["value"] <= MANAGED_POLICIES_MAX
    assert 75 < figures["iam.roles-per-account"]["value"] < 1_000  # one approver per use case
    assert report.resources > 2_000
    assert cpu < 120, f"75 use cases took {cpu:.0f} s of CPU"


def test_cli_needs_a_stack_and_reports_json() -> None:
    from typer.testing import CliRunner

    from mlops.cli import app
    from mlops.errors import MlopsError

    runner = CliRunner()
    result = runner.invoke(app, ["quotas", "--stack", "staging", "--usecases", "2", "--json"])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output)
    assert report["stack"] == "staging" and report["violations"] == []
    assert report["figures"]["iam.role-name"]["maximum"] == 64
    missing = runner.invoke(app, ["quotas"])
    assert isinstance(missing.exception, MlopsError)
    assert missing.exception.message == "give --stack NAME or --all"
