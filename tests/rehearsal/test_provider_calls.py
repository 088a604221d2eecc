"""provider_calls: what creating each recorded resource calls, and what AWS calls because of it,
asserted on the real platform, bootstrap and inference programs built under the mocks."""

from __future__ import annotations

import dataclasses
import json
import runpy
from collections.abc import Iterator

import pulumi
import pytest

from mlops.components.analytics import DecisionAnalytics, DecisionAnalyticsArgs
from mlops.components.analytics_health_job import ModelHealthJob, ModelHealthJobArgs
from mlops.components.analytics_snowflake import SnowflakeArgs
from mlops.components.serving import FunctionSpec, InferenceService, InferenceServiceArgs
from mlops.config import REPO_ROOT, load_stack_config
from mlops.local.remedy import remedy_registry
from mlops.naming import NameContext
from mlops.program import build_stack
from mlops.rehearsal import provider_calls as pc
from mlops.rehearsal.provider_calls.catalogue import problems
from mlops.tags import base_tags
from mlops.testing.mocks import RecordedResource, RecordingMocks, install, run
from mlops.usecases import USECASES_DIR, load_manifest

LAYER = "arn:aws:lambda:eu-west-2:{acct}:layer:remedy-deps:3"


def _bootstrap(stack: str) -> RecordingMocks:
    cfg = load_stack_config(stack)
    mocks = RecordingMocks(account_id=cfg.account_id, region=cfg.region)
    install(mocks, stack, {}, project="mlops-bootstrap")
    run(lambda: runpy.run_path(str(REPO_ROOT / "bootstrap" / "__main__.py"), run_name="__main__"))
    return mocks


def _inference(stack: str) -> RecordingMocks:
    """The inference program's components as the rendered repo builds them (with a model)."""
    cfg = load_stack_config(stack)
    mocks = RecordingMocks(account_id=cfg.account_id, region=cfg.region)
    install(mocks, stack, {}, project="remedy-inference")
    names = NameContext(cfg.environment, cfg.account_id, cfg.region)
    endpoint = load_manifest(USECASES_DIR / "remedy.yaml").stacks.for_env(stack).endpoint
    key = f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/stack"
    package = (
        f"arn:aws:sagemaker:{cfg.region}:{cfg.accounts.dev}:model-package/mlops-dev-remedy-models/3"
    )

    def build() -> None:
        service = InferenceService(
            "remedy",
            InferenceServiceArgs(
                usecase="remedy",
                names=names,
                tags=base_tags(cfg),
                endpoint=endpoint,
                functions=[
                    FunctionSpec(role=r, handler=f"remedy_inference.handlers.{r}.handler")
                    for r in ("encode", "market", "decide")
                ],
                code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("x = 1\n")}),
                kms_key_arn=key,
                subnet_ids=["subnet-a", "subnet-b"],
                security_group_ids=["sg-lambda"],
                model_package_arn=package,
                model_artifact_bucket_arn="arn:aws:s3:::mlops-dev-model-artifacts",
                model_artifact_kms_key_arn=f"{key}-dev-artifacts",
                data_capture_bucket=f"mlops-{stack}-data",
                data_capture_kms_key_arn=f"{key}-data",
                log_kms_key_arn=f"{key}-logs",
                layers=[LAYER.format(acct=cfg.account_id)],
                request_schema={"type": "object"},
            ),
        )
        DecisionAnalytics(
            "remedy-analytics",
            DecisionAnalyticsArgs(
                names=names,
                usecase="remedy",
                events=remedy_registry(),
                log_group_name=service.function_log_groups["decide"].name,
                kms_key_arn=key,
                access_logs_bucket="mlops-access-logs",
                tags=base_tags(cfg),
                transform_lambda=True,
                lambda_subnet_ids=["subnet-a"],
                lambda_security_group_ids=["sg-lambda"],
                snowflake=SnowflakeArgs(
                    database="MLOPS",
                    external_id="mlops-remedy-ext-id",
                    aws_iam_user_arn="arn:aws:iam::999999999999:user/snowflake",
                ),
            ),
        )
        if stack == "prod":  # the scheduled model-health job (prod only, as Remedy's program)
            ModelHealthJob(
                "remedy-health-job",
                ModelHealthJobArgs(
                    names=names,
                    usecase="remedy",
                    stage=stack,
                    handler="remedy_inference.handlers.health.handler",
                    code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("x = 1\n")}),
                    layer_code=pulumi.AssetArchive({"python/x.py": pulumi.StringAsset("x = 1\n")}),
                    layers=[LAYER.format(acct=cfg.account_id)],
                    landing_bucket_name=f"mlops-{stack}-analytics",
                    landing_bucket_arn=f"arn:aws:s3:::mlops-{stack}-analytics",
                    data_kms_key_arn=f"{key}-data",
                    log_kms_key_arn=f"{key}-logs",
                    subnet_ids=["subnet-a", "subnet-b"],
                    security_group_ids=["sg-lambda"],
                    tags=base_tags(cfg),
                ),
            )

    run(build)
    return mocks


_cache: dict[str, RecordingMocks] = {}


def program(label: str) -> RecordingMocks:
    if label not in _cache:
        kind, stack = label.split("/")
        builder = {"platform": build_stack, "bootstrap": _bootstrap, "inference": _inference}[kind]
        _cache[label] = builder(stack)
    return _cache[label]


def view(label: str) -> pc.ProgramView:
    return pc.ProgramView.of(program(label))


PROGRAMS = [f"{k}/{s}" for k in ("platform", "inference") for s in ("dev", "staging", "prod")]
PROGRAMS.append("bootstrap/dev")


def named(mocks: RecordingMocks, typ: str, name: str) -> RecordedResource:
    found = [r for r in mocks.resources if r.type == typ and r.name == name]
    assert len(found) == 1, f"{typ} {name}: {found}"
    return found[0]


def by_value(mocks: RecordingMocks, typ: str, key: str, val: str) -> RecordedResource:
    found = [r for r in mocks.resources if r.type == typ and r.inputs.get(key) == val]
    assert len(found) == 1, f"{typ} with {key}={val}: {found}"
    return found[0]


def synthetic(typ: str, name: str, inputs: dict, state: dict | None = None) -> RecordedResource:
    return RecordedResource(
        typ, name, inputs, True, f"urn:pulumi:t::p::{typ}::{name}", state=state or {}
    )


def actions(calls) -> list[str]:
    return [c.action for c in calls]


# --- coverage -------------------------------------------------------------------------------------
@pytest.mark.parametrize("label", PROGRAMS)
def test_every_recorded_custom_type_has_an_entry(label: str) -> None:
    mocks = program(label)
    custom = {r.type for r in mocks.resources if r.custom}
    missing = sorted(custom - set(pc.REGISTRY))
    assert not missing, f"{label}: no provider_calls entry for {missing}"
    v = view(label)
    for r in mocks.resources:  # every entry runs on what the program really records
        (
            pc.create_calls(r, v),
            pc.service_calls(r, v),
            pc.named_principals(r),
            pc.prerequisites(r, v),
        )
    for token, _ in mocks.calls:
        pc.invoke_calls(token)


@pytest.mark.parametrize("label", PROGRAMS)
def test_every_call_names_a_real_action_resource_type_and_condition_key(label: str) -> None:
    v = view(label)
    bad = []
    for r in program(label).resources:
        calls = pc.create_calls(r, v) + [c for _, c in pc.service_calls(r, v)]
        for call in calls:
            bad += [
                f"{r.type} {r.name}: {p}"
                for p in problems(call.action, call.resource, tuple(call.context))
            ]
    assert not bad, "\n".join(bad[:20])


def test_an_unknown_type_raises_naming_it() -> None:
    r = synthetic("aws:newservice/thing:Thing", "x", {})
    with pytest.raises(pc.UnknownResourceType, match=r"'aws:newservice/thing:Thing'.*'x'"):
        pc.create_calls(r, pc.ProgramView("111111111111", "eu-west-2", [r]))
    with pytest.raises(pc.UnknownResourceType, match="getSomething"):
        pc.invoke_calls("aws:index/getSomething:getSomething")


def test_components_make_no_calls() -> None:
    mocks = program("platform/dev")
    v = view("platform/dev")
    components = [r for r in mocks.resources if not r.custom]
    assert components
    assert all(pc.create_calls(r, v) == [] and pc.service_calls(r, v) == [] for r in components)


def test_every_entry_names_its_sources_and_unverified_facts_are_one_line() -> None:
    for typ, e in pc.REGISTRY.items():
        assert e.source, f"{typ} has no source"
        for note in e.unverified:
            assert "\n" not in note and len(note) < 400, f"{typ}: {note}"
        assert e.verified == (not e.unverified)


# --- log groups and keys --------------------------------------------------------------------------
def test_build_logs_group_needs_a_logs_service_statement_in_its_key_policy() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    group = by_value(
        mocks, "aws:cloudwatch/logGroup:LogGroup", "name", "/mlops/dev/remedy/codebuild"
    )
    key = v.key_for(group.inputs["kmsKeyId"])
    assert key is not None, "the build-logs key is a key of the program"
    group_arn = f"arn:aws:logs:eu-west-2:{mocks.account_id}:log-group:/mlops/dev/remedy/codebuild"
    at_create = pc.service_calls(group, v, when="create")
    assert at_create, "CreateLogGroup with a key makes Logs use the key"
    for principal, call in at_create:
        assert principal == "service:logs.eu-west-2.amazonaws.com"
        assert call.resource == v.arn_of(key)
        assert call.context == {"kms:EncryptionContext:aws:logs:arn": group_arn}
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(actions(c for _, c in at_create))
    create = pc.create_calls(group, v)
    assert create[0].action == "logs:CreateLogGroup" and create[0].resource == group_arn
    assert "logs:PutRetentionPolicy" in actions(create)


def test_a_key_create_checks_the_lockout_rule_against_the_new_policy() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    key = named(mocks, "aws:kms/key:Key", "keys-logs")
    calls = pc.create_calls(key, v)
    assert (calls[0].action, calls[0].resource) == ("kms:CreateKey", "*")
    assert calls[0].context["kms:BypassPolicyLockoutSafetyCheck"] is False
    lockout = [c for c in calls if c.action == "kms:PutKeyPolicy"]
    assert len(lockout) == 1 and lockout[0].resource == v.arn_of(key)
    assert "lockout" in lockout[0].why
    assert {"kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:DescribeKey"} <= set(actions(calls))
    alias = by_value(mocks, "aws:kms/alias:Alias", "name", "alias/mlops-dev-logs")
    on_key = [c.resource for c in pc.create_calls(alias, v) if c.action == "kms:CreateAlias"]
    assert on_key == [
        f"arn:aws:kms:eu-west-2:{mocks.account_id}:alias/mlops-dev-logs",
        v.arn_of(key),
    ]


# --- SageMaker ------------------------------------------------------------------------------------
def test_sagemaker_model_create_uses_the_lower_cased_physical_name_and_passes_its_role() -> None:
    mocks, v = program("inference/prod"), view("inference/prod")
    (model,) = [r for r in mocks.resources if r.type == "aws:sagemaker/model:Model"]
    upper = synthetic(
        model.type, model.name, model.inputs, {**model.state, "name": "Remedy-Model-7F3A"}
    )
    calls = pc.create_calls(upper, v)
    assert calls[0].action == "sagemaker:CreateModel"
    assert (
        calls[0].resource
        == f"arn:aws:sagemaker:eu-west-2:{mocks.account_id}:model/remedy-model-7f3a"
    )
    assert calls[0].context["sagemaker:NetworkIsolation"] is True  # prod: real-time, in the VPC
    passes = [c for c in calls if c.action == "iam:PassRole"]
    role = f"arn:aws:iam::{mocks.account_id}:role/mlops-prod-remedy-model"
    assert [(c.resource, c.context) for c in passes] == [
        (role, {"iam:PassedToService": "sagemaker.amazonaws.com"})
    ]
    assert "sagemaker:AddTags" in actions(calls)
    assumed = pc.service_calls(model, v, when="create")
    assert ("service:sagemaker.amazonaws.com", "sts:AssumeRole", role) in [
        (p, c.action, c.resource) for p, c in assumed
    ]


def test_an_encrypted_endpoint_config_makes_the_caller_create_a_grant_at_create_endpoint() -> None:
    mocks, v = program("inference/prod"), view("inference/prod")
    (endpoint,) = [r for r in mocks.resources if r.type == "aws:sagemaker/endpoint:Endpoint"]
    calls = pc.service_calls(endpoint, v, when="create")
    grants = [c for p, c in calls if p == pc.CALLER and c.action == "kms:CreateGrant"]
    assert len(grants) == 1
    assert grants[0].resource == f"arn:aws:kms:eu-west-2:{mocks.account_id}:key/stack"
    assert grants[0].context["kms:GrantIsForAWSResource"] is True
    capture = [
        c for p, c in pc.service_calls(endpoint, v, when="runtime") if c.action == "s3:PutObject"
    ]
    assert capture and capture[0].resource.startswith(
        "arn:aws:s3:::mlops-prod-data/data-capture/remedy"
    )


def test_autoscaling_a_variant_creates_the_service_linked_role_unless_the_program_does() -> None:
    mocks, v = program("inference/prod"), view("inference/prod")
    (target,) = [r for r in mocks.resources if r.type == "aws:appautoscaling/target:Target"]
    slr = [
        (p, c) for p, c in pc.service_calls(target, v) if c.action == "iam:CreateServiceLinkedRole"
    ]
    assert len(slr) == 1 and slr[0][0] == pc.CALLER
    assert slr[0][1].context == {
        "iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"
    }
    own = synthetic(
        "aws:iam/serviceLinkedRole:ServiceLinkedRole",
        "scaling-slr",
        {"awsServiceName": "sagemaker.application-autoscaling.amazonaws.com"},
    )
    with_slr = pc.ProgramView(v.account, v.region, [*mocks.resources, own])
    assert not [
        c
        for _, c in pc.service_calls(target, with_slr)
        if c.action == "iam:CreateServiceLinkedRole"
    ]


# --- Lambda, Step Functions, API Gateway ----------------------------------------------------------
def test_a_vpc_lambda_with_a_kms_environment_and_a_layer() -> None:
    mocks, v = program("inference/dev"), view("inference/dev")
    fn = by_value(mocks, "aws:lambda/function:Function", "name", "mlops-dev-remedy-decide")
    calls = pc.create_calls(fn, v)
    arn = f"arn:aws:lambda:eu-west-2:{mocks.account_id}:function:mlops-dev-remedy-decide"
    assert (calls[0].action, calls[0].resource) == ("lambda:CreateFunction", arn)
    assert calls[0].context["lambda:SubnetIds"] == ["subnet-a", "subnet-b"]
    pass_ = next(c for c in calls if c.action == "iam:PassRole")
    assert pass_.context == {"iam:PassedToService": "lambda.amazonaws.com"}
    layer = LAYER.format(acct=mocks.account_id)
    assert ("lambda:GetLayerVersion", layer) in [(c.action, c.resource) for c in calls]
    key = f"arn:aws:kms:eu-west-2:{mocks.account_id}:key/stack"
    assert {("kms:CreateGrant", key), ("kms:Encrypt", key)} <= {
        (c.action, c.resource) for c in calls
    }
    role = pass_.resource
    checked = [c.action for p, c in pc.service_calls(fn, v, when="create") if p == role]
    assert "ec2:CreateNetworkInterface" in checked, "Lambda checks the role at CreateFunction"


def test_state_machine_log_delivery_is_checked_on_its_role() -> None:
    mocks, v = program("inference/dev"), view("inference/dev")
    (sm,) = [r for r in mocks.resources if r.type == "aws:sfn/stateMachine:StateMachine"]
    role = f"arn:aws:iam::{mocks.account_id}:role/mlops-dev-remedy-workflow"
    by_role = [c.action for p, c in pc.service_calls(sm, v, when="create") if p == role]
    assert {"logs:CreateLogDelivery", "logs:PutResourcePolicy", "kms:GenerateDataKey"} <= set(
        by_role
    )
    assert not [
        p for p, c in pc.service_calls(sm, v) if c.action == "logs:CreateLogDelivery" and p != role
    ]


def test_stage_access_logging_requires_the_account_cloudwatch_role() -> None:
    mocks, v = program("inference/dev"), view("inference/dev")
    (stage,) = [r for r in mocks.resources if r.type == "aws:apigateway/stage:Stage"]
    (missing,) = pc.prerequisites(stage, v)
    assert not missing.satisfied and "aws.apigateway.Account" in missing.what
    role = f"arn:aws:iam::{mocks.account_id}:role/mlops-dev-apigateway-logs"
    account = synthetic(
        "aws:apigateway/account:Account", "apigw-account", {"cloudwatchRoleArn": role}
    )
    with_account = pc.ProgramView(v.account, v.region, [*mocks.resources, account])
    (present,) = pc.prerequisites(stage, with_account)
    assert present.satisfied
    assumed = pc.service_calls(account, with_account, when="create")
    assert [(p, c.action, c.resource) for p, c in assumed] == [
        ("service:apigateway.amazonaws.com", "sts:AssumeRole", role)
    ]
    assert "iam:PassRole" in actions(pc.create_calls(account, with_account))


# --- S3 uploads, Service Catalog, CloudTrail, Config ----------------------------------------------
def test_an_sse_kms_template_upload_and_the_product_reading_it_use_the_key_via_s3() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    obj = named(mocks, "aws:s3/bucketObjectv2:BucketObjectv2", "catalog-remedy-template")
    bucket = f"arn:aws:s3:::{obj.inputs['bucket']}"
    key = v.key_arn(obj.inputs["kmsKeyId"])
    (upload,) = pc.service_calls(obj, v)
    assert upload[0] == pc.CALLER and upload[1].action == "kms:GenerateDataKey"
    assert upload[1].resource == key
    assert upload[1].context["kms:ViaService"] == "s3.eu-west-2.amazonaws.com"
    assert upload[1].context["kms:EncryptionContext:aws:s3:arn"] == bucket  # bucket keys on
    put = pc.create_calls(obj, v)[0]
    assert put.context["s3:x-amz-server-side-encryption-aws-kms-key-id"] == key
    product = named(mocks, "aws:servicecatalog/product:Product", "catalog-remedy-product")
    reads = {(c.action, c.resource) for p, c in pc.service_calls(product, v) if p == pc.CALLER}
    assert ("s3:GetObject", f"{bucket}/{obj.inputs['key']}") in reads
    assert ("kms:Decrypt", key) in reads
    launch = by_value(
        mocks, "aws:servicecatalog/constraint:Constraint", "productId", product.state["id"]
    )
    role = f"arn:aws:iam::{mocks.account_id}:role/mlops-dev-catalog-launch"
    at_launch = pc.service_calls(launch, v, when="runtime")
    assert ("service:servicecatalog.amazonaws.com", "sts:AssumeRole", role) in [
        (p, c.action, c.resource) for p, c in at_launch
    ]
    by_role = {(c.action, c.resource) for p, c in at_launch if p == role}
    assert {("s3:GetObject", f"{bucket}/{obj.inputs['key']}"), ("kms:Decrypt", key)} <= by_role


def test_cloudtrail_checks_bucket_and_key_policies_at_create() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    (trail,) = [r for r in mocks.resources if r.type == "aws:cloudtrail/trail:Trail"]
    trail_arn = f"arn:aws:cloudtrail:eu-west-2:{mocks.account_id}:trail/mlops-dev-trail"
    svc = {
        c.action: c
        for p, c in pc.service_calls(trail, v, when="create")
        if p == "service:cloudtrail.amazonaws.com"
    }
    assert svc["s3:GetBucketAcl"].resource == f"arn:aws:s3:::{trail.inputs['s3BucketName']}"
    put = svc["s3:PutObject"]
    assert put.resource.endswith(f"/cloudtrail/AWSLogs/{mocks.account_id}/*")
    assert put.context["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert put.context["aws:SourceArn"] == trail_arn
    assert (
        svc["kms:GenerateDataKey"].context["kms:EncryptionContext:aws:cloudtrail:arn"] == trail_arn
    )


def test_config_delivery_channel_writes_its_check_file_as_the_recorder_role() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    (channel,) = [r for r in mocks.resources if r.type == "aws:cfg/deliveryChannel:DeliveryChannel"]
    role = f"arn:aws:iam::{mocks.account_id}:role/mlops-dev-config"
    calls = {c.action: c for p, c in pc.service_calls(channel, v) if p == role}
    assert calls["s3:PutObject"].resource.endswith("ConfigWritabilityCheckFile")
    assert calls["kms:GenerateDataKey"].context["kms:ViaService"] == "s3.eu-west-2.amazonaws.com"


def test_guardduty_and_inspector_create_their_service_linked_roles_as_the_caller() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    names = set()
    for typ in ("aws:guardduty/detector:Detector", "aws:inspector2/enabler:Enabler"):
        for r in mocks.of_type(typ):
            names |= {
                c.context["iam:AWSServiceName"] for p, c in pc.service_calls(r, v) if p == pc.CALLER
            }
    assert names == {"guardduty.amazonaws.com", "inspector2.amazonaws.com"}


# --- delivery -------------------------------------------------------------------------------------
def test_a_pipeline_with_a_connection_source_passes_the_connection_and_its_role() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    pipe = by_value(mocks, "aws:codepipeline/pipeline:Pipeline", "name", "mlops-dev-remedy-build")
    calls = pc.create_calls(pipe, v)
    conn = next(c for c in calls if c.action.endswith(":PassConnection"))
    assert conn.action == "codeconnections:PassConnection"  # the ARN is a codeconnections one
    assert conn.resource.startswith("arn:aws:codeconnections:")
    assert conn.context == {"codeconnections:PassedToService": "codepipeline.amazonaws.com"}
    assert next(c for c in calls if c.action == "iam:PassRole").context == {
        "iam:PassedToService": "codepipeline.amazonaws.com"
    }


def test_a_codebuild_project_in_the_vpc_lets_codebuild_attach_its_eni() -> None:
    mocks, v = program("platform/dev"), view("platform/dev")
    # no build of the platform runs in the VPC (docs/deploy.md, "Egress"): put one there
    tests = by_value(mocks, "aws:codebuild/project:Project", "name", "mlops-dev-remedy-tests")
    exports = mocks.stack_exports
    vpc = {
        "vpcId": exports["vpc_id"],
        "subnets": list(exports["private_subnet_ids"]),
        "securityGroupIds": [exports["sagemaker_security_group_id"]],
    }
    project = dataclasses.replace(tests, inputs={**tests.inputs, "vpcConfig": vpc})
    role = f"arn:aws:iam::{mocks.account_id}:role/mlops-dev-remedy-build"
    created = [(p, c.action) for p, c in pc.service_calls(project, v, when="create")]
    assert ("service:codebuild.amazonaws.com", "sts:AssumeRole") in created
    perm = next(
        c
        for p, c in pc.service_calls(project, v, when="runtime")
        if c.action == "ec2:CreateNetworkInterfacePermission"
    )
    assert perm.context["ec2:AuthorizedService"] == "codebuild.amazonaws.com"
    subnets = project.inputs["vpcConfig"]["subnets"]
    assert perm.context["ec2:Subnet"] == [
        f"arn:aws:ec2:eu-west-2:{mocks.account_id}:subnet/{s}" for s in subnets
    ]
    assert all(p == role for p, c in pc.service_calls(project, v, when="runtime"))


# --- principals -----------------------------------------------------------------------------------
def test_named_principals_finds_the_deployer_trust_principals() -> None:
    mocks = program("platform/dev")
    deployer = by_value(mocks, "aws:iam/role:Role", "name", "mlops-dev-remedy-deployer")
    trusted = json.loads(deployer.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["AWS"]
    assert (
        pc.named_principals(deployer)
        == trusted
        == [f"arn:aws:iam::{mocks.account_id}:role/mlops-dev-remedy-deploy-build"]
    )
    service_only = by_value(mocks, "aws:iam/role:Role", "name", "mlops-dev-remedy-deploy-build")
    assert (
        pc.named_principals(service_only) == []
    )  # a service principal is not an ARN that must exist


def test_named_principals_reads_key_bucket_and_registry_policies() -> None:
    mocks = program("platform/dev")
    group_policy = named(
        mocks,
        "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
        "usecase-remedy-registry-policy",
    )
    cfg = load_stack_config("dev")
    assert {
        f"arn:aws:iam::{cfg.accounts.staging}:root",
        f"arn:aws:iam::{cfg.accounts.prod}:root",
    } <= set(pc.named_principals(group_policy))
    doc = {
        "Statement": [
            {
                "Principal": {"AWS": ["123456789012", "*"], "Service": "logs.amazonaws.com"},
                "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/x"}},
            }
        ]
    }
    key = synthetic("aws:kms/key:Key", "k", {"policy": json.dumps(doc)})
    assert pc.named_principals(key) == ["arn:aws:iam::123456789012:root"]


# --- coming types and context keys ----------------------------------------------------------------
def test_a_role_with_a_boundary_and_tags() -> None:
    role = synthetic(
        "aws:iam/role:Role",
        "r",
        {
            "name": "mlops-dev-x",
            "assumeRolePolicy": "{}",
            "permissionsBoundary": "arn:aws:iam::1:policy/b",
            "tags": {"owner": "t"},
        },
    )
    v = pc.ProgramView("111111111111", "eu-west-2", [role])
    calls = pc.create_calls(role, v)
    assert calls[0].resource == "arn:aws:iam::111111111111:role/mlops-dev-x"
    assert calls[0].context["iam:PermissionsBoundary"] == "arn:aws:iam::1:policy/b"
    assert calls[0].context["aws:RequestTag/owner"] == "t"
    assert actions(calls)[1] == "iam:TagRole"
    assert {"iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"} <= set(
        actions(calls)
    )


def test_coming_types_secret_parameter_repository_permission_set() -> None:
    key = synthetic("aws:kms/key:Key", "k", {}, {"keyId": "kid"})
    secret = synthetic(
        "aws:secretsmanager/secret:Secret",
        "s",
        {"name": "mlops-dev-remedy-valuation", "kmsKeyId": "kid"},
    )
    version = synthetic(
        "aws:secretsmanager/secretVersion:SecretVersion",
        "sv",
        {"secretId": "mlops-dev-remedy-valuation"},
    )
    param = synthetic(
        "aws:ssm/parameter:Parameter",
        "p",
        {"name": "/mlops/dev/outputs", "type": "SecureString", "keyId": "kid"},
    )
    repo = synthetic(
        "aws:ecr/repository:Repository",
        "e",
        {
            "name": "mlops/remedy",
            "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "kid"}],
        },
    )
    ps = synthetic(
        "aws:ssoadmin/permissionSet:PermissionSet",
        "ps",
        {"name": "MlopsDeployer", "instanceArn": "arn:aws:sso:::instance/ssoins-1"},
    )
    v = pc.ProgramView("111111111111", "eu-west-2", [key, secret, version, param, repo, ps])
    key_arn = "arn:aws:kms:eu-west-2:111111111111:key/kid"
    sec_arn = v.arn_of(secret)
    assert sec_arn.startswith(
        "arn:aws:secretsmanager:eu-west-2:111111111111:secret:mlops-dev-remedy-valuation-"
    )
    gen = [c for p, c in pc.service_calls(version, v) if c.action == "kms:GenerateDataKey"]
    assert gen and gen[0].resource == key_arn
    assert gen[0].context["kms:EncryptionContext:SecretARN"] == sec_arn
    assert gen[0].context["kms:ViaService"] == "secretsmanager.eu-west-2.amazonaws.com"
    (put,) = [c for c in pc.create_calls(param, v) if c.action == "ssm:PutParameter"]
    assert put.resource == "arn:aws:ssm:eu-west-2:111111111111:parameter/mlops/dev/outputs"
    enc = [c for _, c in pc.service_calls(param, v) if c.action == "kms:Encrypt"]
    assert enc[0].context["kms:EncryptionContext:PARAMETER_ARN"] == put.resource
    assert ("kms:CreateGrant", key_arn) in [
        (c.action, c.resource) for _, c in pc.service_calls(repo, v)
    ]
    assert (
        pc.create_calls(repo, v)[0].resource
        == "arn:aws:ecr:eu-west-2:111111111111:repository/mlops/remedy"
    )
    assert pc.create_calls(ps, v)[0].action == "sso:CreatePermissionSet"
    for r in (secret, version, param, repo, ps):
        for call in pc.create_calls(r, v) + [c for _, c in pc.service_calls(r, v)]:
            assert not problems(call.action, call.resource, tuple(call.context)), (r.type, call)


# --- the deployer's permissions -------------------------------------------------------------------
def test_required_permissions_are_grouped_and_include_calls_made_with_the_callers_credentials() -> (
    None
):
    mocks, v = program("inference/prod"), view("inference/prod")
    perms = pc.required_permissions(mocks.resources, v)
    assert len(perms) == len(set(perms))
    services = [a.split(":")[0] for a, _ in perms]
    assert services == sorted(services), "grouped by service"
    acct = mocks.account_id
    assert (
        "sagemaker:CreateEndpoint",
        f"arn:aws:sagemaker:eu-west-2:{acct}:endpoint/mlops-prod-remedy-endpoint",
    ) in perms
    assert ("kms:CreateGrant", f"arn:aws:kms:eu-west-2:{acct}:key/stack") in perms  # via SageMaker
    service = "sagemaker.application-autoscaling.amazonaws.com"
    role = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    slr = f"arn:aws:iam::{acct}:role/aws-service-role/{service}/{role}"
    assert ("iam:CreateServiceLinkedRole", slr) in perms
    roles_only = {
        a
        for a, _ in pc.required_permissions(mocks.resources, v, include_caller_service_calls=False)
    }
    assert "iam:CreateServiceLinkedRole" not in roles_only


@pytest.fixture(scope="module", autouse=True)
def _release() -> Iterator[None]:
    yield
    _cache.clear()


def test_a_schedule_passes_its_role_to_scheduler_which_invokes_the_health_job() -> None:
    mocks, v = program("inference/prod"), view("inference/prod")
    sched = by_value(
        mocks, "aws:scheduler/schedule:Schedule", "name", "mlops-prod-remedy-model-health-prod"
    )
    acct = mocks.account_id
    arn = f"arn:aws:scheduler:eu-west-2:{acct}:schedule/default/mlops-prod-remedy-model-health-prod"
    role = f"arn:aws:iam::{acct}:role/mlops-prod-remedy-model-health-scheduler"
    calls = pc.create_calls(sched, v)
    assert [(c.action, c.resource) for c in calls] == [
        ("scheduler:CreateSchedule", arn), ("iam:PassRole", role), ("scheduler:GetSchedule", arn)
    ]  # fmt: skip
    assert calls[1].context == {"iam:PassedToService": "scheduler.amazonaws.com"}
    runtime = [(p, c.action, c.resource) for p, c in pc.service_calls(sched, v, when="runtime")]
    fn = f"arn:aws:lambda:eu-west-2:{acct}:function:mlops-prod-remedy-model-health"
    assert runtime == [
        ("service:scheduler.amazonaws.com", "sts:AssumeRole", role),
        (role, "lambda:InvokeFunction", fn),
    ]
