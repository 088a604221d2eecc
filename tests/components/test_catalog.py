"""Service Catalog: portfolio for the lead, one product per template, cfn-lint clean, onboarding
hook instead of duplicated infrastructure, least-privilege launch role."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from cfnlint.api import lint

from mlops.components.catalog import ServiceCatalog, ServiceCatalogArgs, discover_templates
from mlops.config import StackConfig
from mlops.delivery import cfn
from mlops.delivery.onboard_trigger import handle
from mlops.rehearsal.evaluator import identity_decision
from mlops.tags import base_tags
from mlops.testing.mocks import RecordingMocks, run

DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
LEAD = "arn:aws:iam::111111111111:role/mlops-dev-lead-data-scientist"
EXTRA = cfn.TemplateProduct(name="extra-sample", version="0.1.0", description="Second product")


def _args(cfg: StackConfig, **changes: Any) -> ServiceCatalogArgs:
    values: dict[str, Any] = dict(
        config=cfg,
        tags=base_tags(cfg),
        templates=[*discover_templates(), EXTRA],
        kms_key_arn=f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/artifacts",
        templates_bucket="mlops-dev-pipeline-artifacts-111111111111-eu-west-2",
        lead_data_scientist_role_arn=LEAD,
        subnet_ids=["subnet-0a"],
        lead_data_scientist_role_name="mlops-dev-lead-data-scientist",
        security_group_ids=["sg-0a"],
        vpc_id="vpc-0a",
    )
    values.update(changes)
    return ServiceCatalogArgs(**values)


def _errors(body: str) -> list[str]:
    return [str(m) for m in lint(body, regions=["eu-west-2"]) if str(m.rule.id).startswith("E")]


@pytest.fixture
def catalog(pulumi_mocks: RecordingMocks, stack_config: StackConfig) -> RecordingMocks:
    run(lambda: ServiceCatalog("catalog", _args(stack_config)))
    return pulumi_mocks


@DEV
def test_portfolio_is_shared_with_the_lead_and_projects_enabled(catalog: RecordingMocks) -> None:
    [portfolio] = catalog.of_type("aws:servicecatalog/portfolio:Portfolio")
    [share] = catalog.of_type(
        "aws:servicecatalog/principalPortfolioAssociation:PrincipalPortfolioAssociation"
    )
    assert share.inputs["principalArn"] == LEAD and share.inputs["principalType"] == "IAM"
    assert share.inputs["portfolioId"] == portfolio.state["id"]
    [status] = catalog.of_type(
        "aws:sagemaker/servicecatalogPortfolioStatus:ServicecatalogPortfolioStatus"
    )
    assert status.inputs["status"] == "Enabled"


@DEV
def test_one_visible_product_per_template(catalog: RecordingMocks) -> None:
    products = catalog.of_type("aws:servicecatalog/product:Product")
    expected = sorted(t.name for t in [*discover_templates(), EXTRA])
    assert len(expected) >= 2
    assert sorted(p.name.removeprefix("catalog-").removesuffix("-product") for p in products) == (
        expected
    )
    for p in products:
        assert p.inputs["tags"]["sagemaker:studio-visibility"] == "true", p
        url = p.inputs["provisioningArtifactParameters"]["templateUrl"]
        assert (
            url.startswith("https://mlops-dev-pipeline-artifacts-") and "/service-catalog/" in url
        )
    constraints = catalog.of_type("aws:servicecatalog/constraint:Constraint")
    assert len(constraints) == len(expected)
    launch_arn = catalog.named("catalog-launch-role").state["arn"]
    for c in constraints:
        assert c.inputs["type"] == "LAUNCH"
        assert json.loads(c.inputs["parameters"]) == {"RoleArn": launch_arn}


@DEV
def test_product_templates_pass_cfn_lint_and_only_call_onboarding(catalog: RecordingMocks) -> None:
    objects = catalog.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert len(objects) >= 2
    trigger_arn = catalog.named("catalog-onboard-trigger").state["arn"]
    for obj in objects:
        body = obj.inputs["content"]
        assert _errors(body) == [], obj
        template = yaml.safe_load(body)
        types = {r["Type"] for r in template["Resources"].values()}
        assert types == {"Custom::MlopsOnboarding"}, "the product must not duplicate UseCase infra"
        assert template["Resources"]["Onboarding"]["Properties"]["ServiceToken"] == trigger_arn
        assert obj.inputs["serverSideEncryption"] == "aws:kms"
        assert obj.inputs["tags"]["sagemaker:studio-visibility"] == "true"


def test_cfn_lint_catches_a_broken_template() -> None:
    bad = cfn.product_template(EXTRA, "arn:aws:lambda:eu-west-2:111111111111:function:x")
    bad["Resources"]["Onboarding"]["Properties"]["UseCaseName"] = {"Ref": "NoSuchParameter"}
    assert any("NoSuchParameter" in e for e in _errors(cfn.render(bad)))


@DEV
def test_lead_may_pass_only_the_launch_role_to_cloudformation(catalog: RecordingMocks) -> None:
    grant = catalog.named("catalog-lead-pass-launch-role")
    assert grant.inputs["role"] == "mlops-dev-lead-data-scientist"
    [statement] = json.loads(grant.inputs["policy"])["Statement"]
    assert statement["Resource"] == catalog.named("catalog-launch-role").state["arn"]
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }


def test_s3_provisioned_project_template_uses_the_same_object() -> None:
    url = cfn.template_url("bucket-x", "eu-west-2", EXTRA.object_key)
    provider = cfn.s3_template_provider(
        EXTRA, url, "arn:aws:iam::111111111111:role/launch", OwnerEmail="a@b.co"
    )
    assert provider == {
        "CfnTemplateProvider": {
            "TemplateName": "extra-sample",
            "TemplateURL": "https://bucket-x.s3.eu-west-2.amazonaws.com/service-catalog/extra-sample/0.1.0/"
            "product.yaml",
            "RoleARN": "arn:aws:iam::111111111111:role/launch",
            "Parameters": [{"Key": "OwnerEmail", "Value": "a@b.co"}],
        }
    }


@DEV
def test_launch_role_is_least_privilege(catalog: RecordingMocks) -> None:
    policy = json.loads(catalog.named("catalog-launch-policy").inputs["policy"])
    trigger = "arn:aws:lambda:eu-west-2:111111111111:function:mlops-dev-onboard-trigger"
    stack = "arn:aws:cloudformation:eu-west-2:111111111111:stack/SC-111111111111-pp-abc/1"
    assert identity_decision([policy], "lambda:InvokeFunction", trigger) == "Allow"
    assert identity_decision([policy], "cloudformation:CreateStack", stack) == "Allow"
    for action, resource in [
        ("lambda:InvokeFunction", trigger + "-other"),
        ("iam:CreateRole", "arn:aws:iam::111111111111:role/x"),
        ("sagemaker:CreateModelPackageGroup", "*"),
        ("codepipeline:CreatePipeline", "*"),
        ("s3:GetObject", "arn:aws:s3:::mlops-dev-pipeline-artifacts-111111111111-eu-west-2/x"),
        ("cloudformation:CreateStack", "arn:aws:cloudformation:eu-west-2:111111111111:stack/x/1"),
    ]:
        assert identity_decision([policy], action, resource) == "ImplicitDeny", (action, resource)


@DEV
def test_onboarding_hook_is_private_and_has_a_dead_letter_queue(catalog: RecordingMocks) -> None:
    fn = catalog.named("catalog-onboard-trigger")
    assert fn.inputs["vpcConfig"]["subnetIds"] == ["subnet-0a"]
    assert fn.inputs["deadLetterConfig"]["targetArn"].endswith("mlops-dev-onboard-dlq")
    assert fn.inputs["kmsKeyArn"].endswith(":key/artifacts")
    project = catalog.named("catalog-onboard")
    buildspec = yaml.safe_load(project.inputs["source"]["buildspec"])
    assert "python -m mlops.onboarding.studio onboard" in buildspec["phases"]["build"]["commands"]
    assert buildspec["phases"]["post_build"]["commands"] == [
        "python -m mlops.onboarding.studio answer-if-failed"
    ]
    env = {v["name"]: v for v in project.inputs["environment"]["environmentVariables"]}
    token = catalog.named("catalog-git-token")
    assert env["MLOPS_GIT_TOKEN_SECRET"]["value"] == token.state["arn"]
    assert "type" not in env["MLOPS_GIT_TOKEN_SECRET"]  # the ARN only: the build reads the value
    assert token.inputs["kmsKeyId"].endswith(":key/artifacts")
    assert env["PLATFORM_REPO"]["value"] == "acme-insurance-ml/mlops-platform"
    assert env["MLOPS_GIT_OWNER"]["value"] == "acme-insurance-ml"
    # the build reaches GitHub and CodeArtifact only: outside the VPC, no ENI rights, packages
    # from the platform's index (docs/deploy.md, "Egress")
    assert "vpcConfig" not in project.inputs
    assert "aws codeartifact get-authorization-token" in project.inputs["source"]["buildspec"]
    role_policy = json.loads(catalog.named("catalog-onboard-build-policy").inputs["policy"])
    actions = {a for st in role_policy["Statement"] for a in _listed(st["Action"])}
    assert "ec2:CreateNetworkInterface" not in actions
    assert "codeartifact:ReadFromRepository" in actions
    assert (
        identity_decision([role_policy], "secretsmanager:GetSecretValue", token.state["arn"])
        == "Allow"
    )
    other = "arn:aws:secretsmanager:eu-west-2:111111111111:secret:mlops-dev-other"
    assert (
        identity_decision([role_policy], "secretsmanager:GetSecretValue", other) == "ImplicitDeny"
    )


@DEV
def test_the_form_asks_the_templates_own_questions(catalog: RecordingMocks) -> None:
    """Each product's parameters are its template's questions (copier.yml), the platform's
    accounts and region as defaults, choices as allowed values; every answer reaches the hook."""
    from mlops.onboarding import get_template
    from mlops.onboarding.form import parameter_name

    cfg_accounts = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
    obj = catalog.named("catalog-remedy-template")
    template = yaml.safe_load(obj.inputs["content"])
    params = template["Parameters"]
    questions = get_template("remedy").visible_questions
    assert {parameter_name(q.name) for q in questions} | {"SageMakerProjectId"} == set(params)
    answers = template["Resources"]["Onboarding"]["Properties"]["Answers"]
    assert answers == {q.name: {"Ref": parameter_name(q.name)} for q in questions}
    for env, account in cfg_accounts.items():
        assert params[f"{env.capitalize()}AccountId"]["Default"] == account
    assert params["AwsRegion"]["Default"] == "eu-west-2"
    assert "Default" not in params["OwnerEmail"]  # required, as in `mlops onboard`
    jurisdiction = get_template("remedy").question("jurisdiction")
    assert params["Jurisdiction"]["AllowedValues"] == [str(c) for c in jurisdiction.choices]
    assert params["EvalThreshold"]["Type"] == "Number"


@pytest.mark.parametrize("stack_config", ["staging", "prod"], indirect=True)
def test_catalog_is_dev_only(stack_config: StackConfig) -> None:
    with pytest.raises(ValueError, match="dev \\(governance\\) stack only"):
        _args(stack_config)


def _event(kind: str, **props: Any) -> dict[str, Any]:
    base = {
        "UseCaseName": "claims-triage",
        "Template": "remedy",
        "TemplateVersion": "0.1.0",
        "ProjectId": "p-1",
        "Answers": {"usecase_name": "claims-triage", "owner_email": "ellen.ward@acme.example",
                    "eval_threshold": "0.8"},
    }  # fmt: skip
    return {"RequestType": kind, "ResourceProperties": {**base, **props},
            "ResponseURL": "https://cfn-response.example/put", "StackId": "stack-1",
            "RequestId": "req-1", "LogicalResourceId": "Onboarding"}  # fmt: skip


def test_hook_starts_the_same_onboarding_as_the_cli_and_leaves_the_answer_to_it() -> None:
    started: list[dict[str, str]] = []
    status, data, _ = handle(_event("Create"), lambda env: started.append(env) or "build-1")
    assert (status, data) == ("PENDING", {"BuildId": "build-1"})
    [env] = started
    assert json.loads(env.pop("ANSWERS_JSON")) == _event("Create")["ResourceProperties"]["Answers"]
    assert env == {
        "USECASE_NAME": "claims-triage",
        "TEMPLATE": "remedy",
        "TEMPLATE_VERSION": "0.1.0",
        "SAGEMAKER_PROJECT_ID": "p-1",
        "CFN_RESPONSE_URL": "https://cfn-response.example/put",
        "CFN_STACK_ID": "stack-1",
        "CFN_REQUEST_ID": "req-1",
        "CFN_LOGICAL_ID": "Onboarding",
        "CFN_PHYSICAL_ID": "onboarding-claims-triage",
    }


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"UseCaseName": "Claims_Triage"}, "UseCaseName 'Claims_Triage' is invalid"),
        ({"UseCaseName": "a" * 33}, "at most 32"),
        ({"Answers": {"owner_email": "ellen"}}, "OwnerEmail 'ellen' is not an e-mail"),
    ],
)
def test_hook_rejects_bad_input_without_building(props: dict[str, Any], reason: str) -> None:
    started: list[dict[str, str]] = []
    status, _, message = handle(_event("Create", **props), lambda e: started.append(e) or "b")
    assert status == "FAILED" and reason in message and started == []


def test_hook_update_changes_nothing() -> None:
    started: list[dict[str, str]] = []
    status, _, message = handle(_event("Update"), lambda e: started.append(e) or "b")
    assert status == "SUCCESS" and started == [] and "change to usecases/" in message


def test_hook_delete_never_offboards() -> None:
    started: list[dict[str, str]] = []
    status, _, message = handle(_event("Delete"), lambda e: started.append(e) or "b")
    assert status == "SUCCESS" and started == [] and "offboarded by a change" in message


def test_lambda_handler_starts_codebuild_and_leaves_the_answer_to_the_build(monkeypatch) -> None:
    """The adapter: boto3 CodeBuild (moto) + the CloudFormation response PUT (captured): a started
    build answers CloudFormation itself; a build that cannot start is answered FAILED at once."""

    import boto3
    from moto import mock_aws

    from mlops.delivery import onboard_trigger

    sent: list[tuple[str, dict]] = []

    class _Response:
        def __enter__(self) -> _Response:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def fake_urlopen(request, timeout: int):
        sent.append((request.full_url, json.loads(request.data)))
        return _Response()

    monkeypatch.setattr(onboard_trigger.urllib.request, "urlopen", fake_urlopen)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "ONBOARD_PROJECT": "mlops-dev-onboard",
    }.items():
        monkeypatch.setenv(key, value)
    event = _event("Create")
    with mock_aws():
        onboard_trigger.lambda_handler(event, None)  # no such project: cannot start
        boto3.client("codebuild").create_project(
            name="mlops-dev-onboard",
            source={"type": "S3", "location": "bucket/source.zip"},  # moto needs a location
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "x",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole="arn:aws:iam::123456789012:role/x",
        )
        onboard_trigger.lambda_handler(event, None)
        builds = boto3.client("codebuild").list_builds_for_project(projectName="mlops-dev-onboard")
    assert len(builds["ids"]) == 1
    [(url, body)] = sent  # only the failed start was answered
    assert url == "https://cfn-response.example/put"
    assert body["Status"] == "FAILED" and "onboarding could not start" in body["Reason"]
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        "stack-1",
        "req-1",
        "Onboarding",
    )
    assert body["PhysicalResourceId"] == "onboarding-claims-triage"


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
