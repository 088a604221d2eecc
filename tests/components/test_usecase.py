"""UseCase component under mocks, for every stack: names, trigger, approvals, cross-account."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from mlops.components.usecase import UseCase
from mlops.config import StackConfig
from mlops.delivery.events import matches, sample_event
from mlops.delivery.promotion import deployed_marker
from mlops.errors import ManifestError
from mlops.policy.documents import as_list
from mlops.rehearsal.evaluator import identity_decision
from mlops.testing.mocks import RecordedResource, RecordingMocks, policy_documents, run

from .usecase_helpers import args_for, build, manifest

DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
NAME_KEYS = ("name", "modelPackageGroupName", "repositoryName")
TEN = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


def _physical(r: RecordedResource) -> str | None:
    """The name AWS gets, auto-names included (the mocks generate them as pulumi-aws does)."""
    if r.physical_name:
        return r.physical_name
    for key in NAME_KEYS:
        if isinstance(r.inputs.get(key), str):
            return r.inputs[key]
    return None


def _descendants(mocks: RecordingMocks, root: RecordedResource) -> list[RecordedResource]:
    out, frontier = [], [root]
    while frontier:
        kids = [c for f in frontier for c in mocks.children_of(f)]
        out += kids
        frontier = kids
    return out


@pytest.mark.parametrize("names", [["remedy"], TEN], ids=["one", "ten"])
def test_usecases_build_with_unique_names(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig, names: list[str]
) -> None:
    run(lambda: build(stack_config, [manifest(n) for n in names]))
    components = pulumi_mocks.of_type("mlops:usecase:UseCase")
    assert sorted(c.name for c in components) == sorted(f"usecase-{n}" for n in names)
    keys = Counter((r.type, r.name) for r in pulumi_mocks.resources)
    assert [k for k, n in keys.items() if n > 1] == []
    physical = Counter(
        (r.type.split(":")[1].split("/")[0], _physical(r))
        for r in pulumi_mocks.resources
        if _physical(r)
        and r.type != "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"
    )
    assert [k for k, n in physical.items() if n > 1] == []
    for component in components:
        usecase = component.name.removeprefix("usecase-")
        children = _descendants(pulumi_mocks, component)
        assert len(children) >= 2, component
        for child in children:
            name = _physical(child)
            assert name is None or re.search(rf"(^|[-/]){usecase}([-/]|$)", name), (child, name)


def _one(mocks: RecordingMocks, typ: str, name: str) -> RecordedResource:
    [r] = [r for r in mocks.of_type(typ) if r.name == name]
    return r


@DEV
def test_eventbridge_rule_fires_only_on_approved(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    rule = _one(pulumi_mocks, "aws:cloudwatch/eventRule:EventRule", "usecase-remedy-approved-rule")
    pattern = json.loads(rule.inputs["eventPattern"])
    group = "mlops-dev-remedy-models"
    target = _one(
        pulumi_mocks, "aws:cloudwatch/eventTarget:EventTarget", "usecase-remedy-approved-target"
    )
    assert target.inputs["arn"].endswith(":mlops-dev-remedy-deploy")
    cases = {
        "Approved": (sample_event(group, "Approved"), True),
        "Rejected": (sample_event(group, "Rejected"), False),
        "PendingManualApproval": (sample_event(group, "PendingManualApproval"), False),
        "Approved, other group": (sample_event("mlops-dev-other", "Approved"), False),
        "Approved, already deployed": (
            sample_event(group, "Approved", {deployed_marker("dev"): "2026-11-29T02:00:00Z"}),
            False,
        ),
        "Approved, unrelated metadata": (sample_event(group, "Approved", {"team": "x"}), True),
    }
    from moto.events.models import EventPattern

    moto_pattern = EventPattern.load(json.dumps(pattern))
    for label, (event, expected) in cases.items():
        assert matches(pattern, event) is expected, label
        assert moto_pattern.matches_event(event) is expected, f"moto disagrees: {label}"


def _docs_of(mocks: RecordingMocks, resource_name: str) -> list[dict]:
    return [d for n, d in policy_documents(mocks.resources) if n.startswith(resource_name + ".")]


def _deployer_of(mocks: RecordingMocks, usecase: str = "remedy") -> dict:
    """The deployer's permissions as one document: its managed policies (-1, -2, ...) and its
    inline policy (the pass of the platform's model role; none in dev)."""
    prefix = f"usecase-{usecase}-deployer-policy"
    parts = [d for n, d in policy_documents(mocks.resources)
             if n.split(".")[0] == prefix or re.fullmatch(rf"{prefix}-\d+\.policy", n)]  # fmt: skip
    assert len(parts) >= 2, "the deployer's managed policies"
    return {"Version": "2012-10-17", "Statement": [s for d in parts for s in d["Statement"]]}


def _attached_to_shared_roles(mocks: RecordingMocks) -> list[str]:
    """Managed policies attached to roles other than a use case's deployer (which carries its
    own permissions as managed policies)."""
    return [
        a.name
        for a in mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if not re.fullmatch(r"usecase-[a-z0-9-]+-deployer-attachment-\d+", a.name)
    ]


@DEV
def test_only_the_lead_data_scientist_can_approve(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    pipeline = _one(
        pulumi_mocks, "aws:codepipeline/pipeline:Pipeline", "usecase-remedy-deploy-pipeline"
    )
    stages = [s["name"] for s in pipeline.inputs["stages"]]
    assert stages == [
        "Source",
        "DeployDev",
        "SmokeTestDev",
        "ApproveStaging",
        "DeployStaging",
        "SmokeTestStaging",
        "ApproveProd",
        "DeployProd",
        "SmokeTestProd",
    ]
    assert pipeline.inputs["executionMode"] == "QUEUED"  # never cancels a pending approval
    gates = [s for s in pipeline.inputs["stages"] if s["name"].startswith("Approve")]
    assert {a["provider"] for g in gates for a in g["actions"]} == {"Manual"}
    arn = (
        f"arn:aws:codepipeline:{stack_config.region}:{stack_config.account_id}:"
        "mlops-dev-remedy-deploy"
    )
    approve = ["codepipeline:PutApprovalResult", f"{arn}/ApproveStaging/LeadDataScientistApproval"]
    approve_prod = [approve[0], f"{arn}/ApproveProd/LeadDataScientistApproval"]

    lead = _docs_of(pulumi_mocks, "usecase-remedy-approvers-policy")
    assert identity_decision(lead, *approve) == "Allow"
    assert identity_decision(lead, *approve_prod) == "Allow"
    assert identity_decision(lead, approve[0], f"{arn}-other/ApproveStaging/X") == "ImplicitDeny"
    role = _one(pulumi_mocks, "aws:iam/role:Role", "usecase-remedy-approvers-role")
    assert role.inputs["name"] == "mlops-dev-remedy-approver"
    # nothing is attached to the shared Studio roles per use case (IAM: 10 managed policies/role)
    assert not _attached_to_shared_roles(pulumi_mocks)
    # the deploy builds can read the approver back from CodePipeline to record it
    deploy_build = _docs_of(pulumi_mocks, "usecase-remedy-deploy-build-policy")
    assert identity_decision(deploy_build, "codepipeline:ListActionExecutions", arn) == "Allow"
    assert (
        identity_decision(deploy_build, "codepipeline:PutApprovalResult", f"{arn}/x/y")
        == "ImplicitDeny"
    )


def _accounts_in(doc: dict) -> set[str]:
    return set(re.findall(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):", json.dumps(doc)))


def test_deployer_trusts_only_this_usecases_dev_deploy_build(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    cfg = stack_config
    acc = cfg.accounts
    run(lambda: build(cfg, [manifest("remedy")]))
    # every stack: the deployer role trusts only this use case's deploy-build role of its stage
    role = _one(pulumi_mocks, "aws:iam/role:Role", "usecase-remedy-deployer-role")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    suffix = "" if cfg.environment == "dev" else f"-{cfg.environment}"
    assert trust["Principal"] == {
        "AWS": [f"arn:aws:iam::{acc.dev}:role/mlops-dev-remedy-deploy-build{suffix}"]
    }
    deployer = [_deployer_of(pulumi_mocks)]
    # AWS's published Powertools layer (the analytics transform) is the only other account
    aws_layers = {"017000801446"}
    assert set().union(*map(_accounts_in, deployer)) - aws_layers == {cfg.account_id, acc.dev}
    pipelines = pulumi_mocks.of_type("aws:codepipeline/pipeline:Pipeline")
    assert len(pipelines) == (2 if cfg.is_governance else 0)


@DEV
def test_dev_deployer_trust_depends_on_the_deploy_build_role(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    """The trust names a role this program creates, so it must wait for that role
    (its ARN output); a string ARN lets the engine create the trust first ("invalid principal")."""
    run(lambda: build(stack_config, [manifest("remedy")]))
    deployer = _one(pulumi_mocks, "aws:iam/role:Role", "usecase-remedy-deployer-role")
    build_role = _one(pulumi_mocks, "aws:iam/role:Role", "usecase-remedy-deploy-build-role")
    assert build_role.urn in deployer.property_dependencies.get("assumeRolePolicy", []), (
        deployer.property_dependencies
    )
    assert build_role.urn in deployer.dependencies


@DEV
def test_registry_and_deployers_name_exactly_staging_and_prod(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    acc = stack_config.accounts
    run(lambda: build(stack_config, [manifest("remedy")]))
    policy = _one(
        pulumi_mocks,
        "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
        "usecase-remedy-registry-policy",
    )
    registry = json.loads(policy.inputs["resourcePolicy"])
    # every Allow names exactly staging and prod; the one Deny binds everyone
    principals = {
        p for s in registry["Statement"] if s["Effect"] == "Allow" for p in s["Principal"]["AWS"]
    }
    denies = [s for s in registry["Statement"] if s["Effect"] == "Deny"]
    assert [(s["Sid"], s["Principal"]) for s in denies] == [
        ("OnlyTheLeadSetsApprovalStatus", {"AWS": "*"})
    ]
    assert principals == {f"arn:aws:iam::{acc.staging}:root", f"arn:aws:iam::{acc.prod}:root"}
    assert {
        a for s in registry["Statement"] if s["Effect"] == "Allow" for a in as_list(s["Action"])
    } == {
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:CreateModel",
    }
    assert _accounts_in({"r": [s["Resource"] for s in registry["Statement"]]}) == {acc.dev}
    # one deploy-build role per stage, each assuming only its own stage's deployer
    for e, a in (("dev", acc.dev), ("staging", acc.staging), ("prod", acc.prod)):
        policy = f"usecase-remedy-deploy-build{'' if e == 'dev' else f'-{e}'}-policy"
        [deploy_build] = _docs_of(pulumi_mocks, policy)
        [assume] = [s for s in deploy_build["Statement"] if s["Action"] == "sts:AssumeRole"]
        assert assume["Resource"] == f"arn:aws:iam::{a}:role/mlops-{e}-remedy-deployer", e


@DEV
def test_pipelines_are_v2_in_the_vpc_and_kms_encrypted(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    key = f"arn:aws:kms:{stack_config.region}:{stack_config.account_id}:key/artifacts"
    for p in pulumi_mocks.of_type("aws:codepipeline/pipeline:Pipeline"):
        assert p.inputs["pipelineType"] == "V2", p
        [store] = p.inputs["artifactStores"]
        assert store["encryptionKey"] == {"id": key, "type": "KMS"}, p
    build_pipeline = _one(
        pulumi_mocks, "aws:codepipeline/pipeline:Pipeline", "usecase-remedy-build-pipeline"
    )
    assert [s["name"] for s in build_pipeline.inputs["stages"]] == [
        "Source",
        "Test",
        "Images",
        "TrainingPipeline",
    ]
    [trigger] = build_pipeline.inputs["triggers"]
    assert trigger["gitConfiguration"]["pushes"][0]["branches"]["includes"] == ["main"]
    source = build_pipeline.inputs["stages"][0]["actions"][0]
    assert source["provider"] == "CodeStarSourceConnection"
    assert source["configuration"]["FullRepositoryId"] == "acme-insurance-ml/remedy-training"
    projects = pulumi_mocks.of_type("aws:codebuild/project:Project")
    assert len(projects) == 9
    # egress design (docs/deploy.md): no build touches anything VPC-private, so none runs in the
    # VPC; every one installs from the platform's CodeArtifact index. Deploy and smoke test: one
    # project per stage (each runs as its stage's deploy-build role)
    assert {p.name for p in projects} == {
        "usecase-remedy-tests",
        "usecase-remedy-images",
        "usecase-remedy-training-pipeline",
        *(f"usecase-remedy-{part}{s}" for part in ("deploy", "smoke-test")
          for s in ("", "-staging", "-prod")),
    }  # fmt: skip
    for project in projects:
        assert project.inputs.get("vpcConfig") is None, project
        assert project.inputs["encryptionKey"] == key, project
        env = {v["name"]: v["value"] for v in project.inputs["environment"]["environmentVariables"]}
        assert env["CODEARTIFACT_DOMAIN"] == "mlops-dev-packages", project.name
        assert env["CODEARTIFACT_REPOSITORY"] == "mlops-dev-pypi", project.name
    training = _one(
        pulumi_mocks, "aws:codebuild/project:Project", "usecase-remedy-training-pipeline"
    )
    env = {v["name"]: v["value"] for v in training.inputs["environment"]["environmentVariables"]}
    assert env["SUBNET_IDS"] == "subnet-0a,subnet-0b" and env["SECURITY_GROUP_IDS"] == "sg-0build"
    assert env["SM_PIPELINE_NAME"] == "mlops-dev-remedy-training"
    assert env["MODEL_PACKAGE_GROUP"] == "mlops-dev-remedy-models"
    spec = training.inputs["source"]["buildspec"]
    assert "mlops.delivery.run_pipeline" in spec and "--upsert --start" in spec
    logs = _one(pulumi_mocks, "aws:cloudwatch/logGroup:LogGroup", "usecase-remedy-build-logs")
    assert logs.inputs["kmsKeyId"] == key


@DEV
def test_codecommit_option_creates_encrypted_repos(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    m = manifest(
        "remedy",
        git={
            "provider": "codecommit",
            "training_repo": "remedy-training",
            "inference_repo": "remedy-inference",
        },
    )
    run(lambda: UseCase("usecase-remedy", args_for(stack_config, m, git_connection_arn=None)))
    repos = pulumi_mocks.of_type("aws:codecommit/repository:Repository")
    assert sorted(r.inputs["repositoryName"] for r in repos) == [
        "remedy-inference",
        "remedy-training",
    ]
    assert all(r.inputs["kmsKeyId"].endswith(":key/artifacts") for r in repos)
    rule = _one(pulumi_mocks, "aws:cloudwatch/eventRule:EventRule", "usecase-remedy-push-rule")
    assert json.loads(rule.inputs["eventPattern"])["detail"]["referenceName"] == ["main"]


@DEV
def test_dev_args_need_network_and_connection(stack_config: StackConfig) -> None:
    with pytest.raises(ValueError, match="dev stack needs vpc_id"):
        args_for(stack_config, manifest(), vpc_id=None)
    with pytest.raises(ValueError, match="git_connection_arn"):
        args_for(stack_config, manifest(), git_connection_arn=None)


def test_lead_must_belong_to_stack(stack_config: StackConfig) -> None:
    m = manifest("remedy", owners={"lead_data_scientist": "someone-else"})
    with pytest.raises(ManifestError, match="is not a lead data scientist"):
        args_for(stack_config, m)


@DEV
def test_each_deploy_stage_targets_its_account_and_records_its_gates_approver(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    acc = stack_config.accounts
    run(lambda: build(stack_config, [manifest("remedy")]))
    pipeline = _one(
        pulumi_mocks, "aws:codepipeline/pipeline:Pipeline", "usecase-remedy-deploy-pipeline"
    )
    stages = {s["name"]: s["actions"][0] for s in pipeline.inputs["stages"]}
    expected = {
        "DeployDev": ("dev", acc.dev, ""),
        "DeployStaging": ("staging", acc.staging, "ApproveStaging/LeadDataScientistApproval"),
        "DeployProd": ("prod", acc.prod, "ApproveProd/LeadDataScientistApproval"),
    }
    for stage, (env, account, gate) in expected.items():
        variables = {
            v["name"]: v["value"]
            for v in json.loads(stages[stage]["configuration"]["EnvironmentVariables"])
        }
        assert variables["STAGE"] == env, stage
        assert (
            variables["TARGET_ROLE_ARN"]
            == f"arn:aws:iam::{account}:role/mlops-{env}-remedy-deployer"
        )
        assert variables["APPROVAL_ACTION"] == gate, stage
        assert variables["PIPELINE_EXECUTION_ID"] == "#{codepipeline.PipelineExecutionId}"

    # the manifest is the source of each stage's serving settings (remedy.yaml)
    def endpoint(stage: str) -> str:
        config = json.loads(stages[stage]["configuration"]["EnvironmentVariables"])
        return next(v["value"] for v in config if v["name"] == "ENDPOINT_CONFIG")

    assert endpoint("DeployDev") == (
        "endpointMode=serverless serverlessMemoryMb=2048 maxConcurrency=5 functionConcurrency=5"
    )
    assert endpoint("DeployProd") == (
        "endpointMode=realtime instanceType=ml.c6i.large minInstances=2 maxInstances=6 "
        "rolloutTraffic=canary rolloutStepPercent=10 rolloutWaitSeconds=600 "
        "rolloutTerminationWaitSeconds=300 functionConcurrency=50"
    )


@DEV
def test_the_lead_is_notified_of_each_gate(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    topic = _one(pulumi_mocks, "aws:sns/topic:Topic", "usecase-remedy-approvals")
    assert topic.inputs["kmsMasterKeyId"].endswith(":key/artifacts")
    [sub] = pulumi_mocks.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sub.inputs["endpoint"] == "ellen.ward@acme-insurance.example"
    pipeline = _one(
        pulumi_mocks, "aws:codepipeline/pipeline:Pipeline", "usecase-remedy-deploy-pipeline"
    )
    gates = [s["actions"][0] for s in pipeline.inputs["stages"] if s["name"].startswith("Approve")]
    assert [g["configuration"]["NotificationArn"] for g in gates] == [topic.state["arn"]] * 2
    role_policy = _docs_of(pulumi_mocks, "usecase-remedy-deploy-pipeline-policy")
    topic_arn = (
        f"arn:aws:sns:{stack_config.region}:{stack_config.account_id}:mlops-dev-remedy-approvals"
    )
    assert identity_decision(role_policy, "sns:Publish", topic_arn) == "Allow"


def test_deployer_passes_only_this_use_cases_roles_and_the_platform_model_role(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    acct, env = stack_config.account_id, stack_config.environment
    run(lambda: build(stack_config, [manifest("remedy")]))
    deployer = _deployer_of(pulumi_mocks)
    passes = {s["Sid"]: s for s in deployer["Statement"] if "iam:PassRole" in s["Action"]}
    own = next(p for p in passes.values() if p["Sid"] != "PassPlatformModelRole")
    passes = {k: v for k, v in passes.items() if v is not own}
    assert own["Action"] == "iam:PassRole"  # generated: nothing else on the same resources
    assert own["Resource"] == f"arn:aws:iam::{acct}:role/mlops-{env}-remedy-*"
    services = own["Condition"]["StringEquals"]["iam:PassedToService"]
    # what the inference program passes its roles to (deployer_permissions.json)
    assert sorted(services) == [
        "apigateway.amazonaws.com",
        "firehose.amazonaws.com",
        "lambda.amazonaws.com",
        "logs.amazonaws.com",
        "sagemaker.amazonaws.com",
        "scheduler.amazonaws.com",  # the prod model-health schedule's role
        "states.amazonaws.com",
    ]
    expected = (
        []
        if stack_config.is_governance
        else [f"arn:aws:iam::{acct}:role/mlops-{env}-model-execution"]
    )
    assert [p["Resource"] for p in passes.values()] == expected


def test_deployer_can_run_the_inference_stack_but_only_for_its_use_case(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    env, acct, region = stack_config.environment, stack_config.account_id, stack_config.region
    run(lambda: build(stack_config, [manifest("remedy")]))
    deployer = _deployer_of(pulumi_mocks)
    mine, other = f"mlops-{env}-remedy", f"mlops-{env}-fraud"
    for action, template in [
        ("lambda:CreateFunction", "arn:aws:lambda:{r}:{a}:function:{n}-decide"),
        ("states:CreateStateMachine", "arn:aws:states:{r}:{a}:stateMachine:{n}-decision-workflow"),
        ("iam:GetRole", "arn:aws:iam::{a}:role/{n}-decide"),
        ("sagemaker:CreateEndpoint", "arn:aws:sagemaker:{r}:{a}:endpoint/{n}-endpoint"),
        ("cloudwatch:PutMetricAlarm", "arn:aws:cloudwatch:{r}:{a}:alarm:{n}-alarm-5xx"),
        ("logs:CreateLogGroup", "arn:aws:logs:{r}:{a}:log-group:/aws/lambda/{n}-decide"),
    ]:
        assert (
            identity_decision([deployer], action, template.format(r=region, a=acct, n=mine))
            == "Allow"
        )
        assert identity_decision(
            [deployer], action, template.format(r=region, a=acct, n=other)
        ) == ("ImplicitDeny"), (action, "another use case's resource")
    assert (
        identity_decision([deployer], "iam:CreateRole", f"arn:aws:iam::{acct}:role/admin")
        == "ImplicitDeny"
    )
    # 23.3: roles are created (and widened) only with the use case's permissions boundary
    # (generated, 17.3: only what the program calls; it attaches no managed policy)
    gated = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"}
    [create] = [s for s in deployer["Statement"] if "iam:CreateRole" in s["Action"]]
    assert create["Resource"] == f"arn:aws:iam::{acct}:role/{mine}-*"
    assert create["Condition"] == {
        "ArnEquals": {"iam:PermissionsBoundary": f"arn:aws:iam::{acct}:policy/{mine}-boundary"}
    }
    assert {"iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"} <= set(create["Action"])
    for s in deployer["Statement"]:
        if s["Effect"] == "Allow" and gated & set(s["Action"]):
            assert s is create, s  # no other statement creates or widens a role


@DEV
def test_deploy_builds_run_the_inference_stack_with_the_target_role(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    project = _one(pulumi_mocks, "aws:codebuild/project:Project", "usecase-remedy-deploy")
    spec = project.inputs["source"]["buildspec"]
    for step in (
        "mlops.delivery.deploy select",
        "pulumi config set modelPackageArn",
        "aws:assumeRoles[0].roleArn",
        "pulumi up --yes",
        "mlops.delivery.deploy record",
    ):
        assert step in spec, step
    env = {v["name"]: v["value"] for v in project.inputs["environment"]["environmentVariables"]}
    state = f"mlops-dev-pulumi-state-{stack_config.account_id}-{stack_config.region}"
    assert env["PULUMI_BACKEND_URL"] == f"s3://{state}?region={stack_config.region}"
    build_docs = _docs_of(pulumi_mocks, "usecase-remedy-deploy-build-prod-policy")
    own = f"arn:aws:s3:::{state}/.pulumi/stacks/remedy-inference/prod.json"
    assert identity_decision(build_docs, "s3:PutObject", own) == "Allow"
    assert identity_decision(build_docs, "s3:GetObject", own) == "Allow"
    # each stage's deploy build writes only its own stage's stack
    dev_docs = _docs_of(pulumi_mocks, "usecase-remedy-deploy-build-policy")
    assert identity_decision(dev_docs, "s3:PutObject", own) == "ImplicitDeny"
    dev_own = own.replace("/prod.json", "/dev.json")
    assert identity_decision(dev_docs, "s3:PutObject", dev_own) == "Allow"
    assert identity_decision(build_docs, "s3:PutObject", dev_own) == "ImplicitDeny"
    # the backend is shared: the platform's stacks and other use cases' are read-only
    # or out of reach for this use case's deploy builds
    platform = f"arn:aws:s3:::{state}/.pulumi/stacks/mlops-platform/prod.json"
    assert identity_decision(build_docs, "s3:GetObject", platform) == "Allow"
    for other in (platform, f"arn:aws:s3:::{state}/.pulumi/stacks/fraud-inference/prod.json"):
        assert identity_decision(build_docs, "s3:PutObject", other) == "ImplicitDeny", other
        assert identity_decision(build_docs, "s3:DeleteObject", other) == "ImplicitDeny", other
