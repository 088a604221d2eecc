"""Pure delivery helpers and their boto3 adapters (moto / stubs): trigger pattern, promotion
metadata, deployment plan, buildspecs, IAM evaluator."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from mlops import iam
from mlops.delivery import buildspecs
from mlops.delivery.deploy import choose_package, record, select, smoke
from mlops.delivery.events import approved_package_pattern, matches, sample_event
from mlops.delivery.policies import deny_approval_statements
from mlops.delivery.promotion import (
    Promotion,
    PromotionError,
    approver_from_pipeline,
    deployed_marker,
    in_stage,
    promotion_metadata,
    record_promotion,
    registry_approver,
)
from mlops.rehearsal.evaluator import identity_decision

GROUP = "mlops-dev-remedy-models"
LEAD = "arn:aws:sts::111111111111:assumed-role/mlops-dev-lead-data-scientist/ellen-ward"


# --- EventBridge pattern ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "expected"),
    [("Approved", True), ("Rejected", False), ("PendingManualApproval", False)],
)
def test_pattern_matches_approved_only(status: str, expected: bool) -> None:
    assert matches(approved_package_pattern(GROUP), sample_event(GROUP, status)) is expected


def test_pattern_is_scoped_to_its_group_and_ignores_promotion_updates() -> None:
    pattern = approved_package_pattern(GROUP)
    assert not matches(pattern, sample_event("mlops-dev-remedy-v2", "Approved"))
    assert not matches(pattern, sample_event("mlops-dev-remed", "Approved"))
    promoted = sample_event(GROUP, "Approved", {deployed_marker("dev"): "2026-11-29T02:00:00Z"})
    assert not matches(pattern, promoted)
    other_source = {**sample_event(GROUP, "Approved"), "source": "custom.sagemaker"}
    assert not matches(pattern, other_source)


def test_matcher_agrees_with_moto_on_operators() -> None:
    from moto.events.models import EventPattern

    patterns = [
        {"detail": {"a": [{"prefix": "mlops-"}]}},
        {"detail": {"a": [{"anything-but": ["x", "y"]}]}},
        {"detail": {"a": [{"exists": True}], "b": ["1", "2"]}},
        {"detail": {"n": [3]}},
        {"detail": {"list": ["b"]}},
    ]
    events = [
        {"detail": {"a": "mlops-x", "b": "1", "n": 3, "list": ["a", "b"]}},
        {"detail": {"a": "x", "b": "3", "n": "3", "list": ["c"]}},
        {"detail": {"b": "2"}},
        {"detail": {}},
    ]
    for pattern in patterns:
        moto_pattern = EventPattern(raw_pattern=None, pattern=pattern)
        for event in events:
            assert matches(pattern, event) is moto_pattern.matches_event(event), (pattern, event)


def test_matcher_refuses_unsupported_operators() -> None:
    with pytest.raises(ValueError, match="unsupported EventBridge operator"):
        matches({"detail": {"a": [{"numeric": [">", 1]}]}}, {"detail": {"a": 2}})


# --- promotion metadata ---------------------------------------------------------------------
ARN = f"arn:aws:sagemaker:eu-west-2:111111111111:model-package/{GROUP}/3"


def _promo(stage: str, approver: str = LEAD) -> Promotion:
    return Promotion(stage, ARN, 3, approver, "2026-11-29T02:00:00Z", "exec-1")


def test_promotion_records_stage_package_and_approver() -> None:
    metadata = promotion_metadata({"team": "claims"}, _promo("dev"))
    assert metadata == {
        "team": "claims",
        "mlops:dev:deployed-at": "2026-11-29T02:00:00Z",
        "mlops:dev:approved-by": LEAD,
        "mlops:dev:package-arn": ARN,
        "mlops:dev:package-version": "3",
        "mlops:dev:pipeline-execution": "exec-1",
        "mlops:current-stage": "dev",
    }


def test_promotion_must_follow_dev_staging_prod() -> None:
    with pytest.raises(PromotionError, match="never deployed to dev"):
        promotion_metadata({}, _promo("staging"))
    after_dev = promotion_metadata({}, _promo("dev"))
    with pytest.raises(PromotionError, match="never deployed to staging"):
        promotion_metadata(after_dev, _promo("prod"))


def test_promotion_needs_an_approver() -> None:
    with pytest.raises(PromotionError, match="no approver"):
        promotion_metadata({}, _promo("dev", approver=""))


def test_approver_is_read_from_the_right_gate() -> None:
    class Stub:
        def list_action_executions(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs == {"pipelineName": "p", "filter": {"pipelineExecutionId": "e"}}
            return {
                "actionExecutionDetails": [
                    {
                        "stageName": "ApproveProd",
                        "actionName": "LeadDataScientistApproval",
                        "status": "InProgress",
                    },
                    {
                        "stageName": "ApproveStaging",
                        "actionName": "LeadDataScientistApproval",
                        "status": "Succeeded",
                        "updatedBy": LEAD,
                    },
                ]
            }

    assert approver_from_pipeline(Stub(), "p", "e", "ApproveStaging/LeadDataScientistApproval") == (
        LEAD
    )
    with pytest.raises(PromotionError, match="no approval"):
        approver_from_pipeline(Stub(), "p", "e", "ApproveProd/LeadDataScientistApproval")


def test_registry_approver_prefers_the_iam_identity() -> None:
    assert (
        registry_approver(
            {"LastModifiedBy": {"IamIdentity": {"Arn": LEAD}, "UserProfileName": "ellen-ward"}}
        )
        == LEAD
    )
    assert registry_approver({"LastModifiedBy": {"UserProfileName": "ellen-ward"}}) == "ellen-ward"
    with pytest.raises(PromotionError, match="does not say who approved"):
        registry_approver({"ModelPackageArn": ARN})


# --- moto: registry → deploy → promote → "what is in prod and who approved it" --------------
@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    keys = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    with mock_aws():
        yield {
            "sagemaker": boto3.client("sagemaker"),
            "application-autoscaling": boto3.client("application-autoscaling"),
        }
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _package(sm: Any, status: str) -> str:
    spec = {
        "Containers": [
            {
                "Image": "111111111111.dkr.ecr.eu-west-2.amazonaws.com/remedy:1",
                "ModelDataUrl": "s3://artifacts/remedy/model.tar.gz",
            }
        ],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    arn = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification=spec,
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    if status != "PendingManualApproval":
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return arn


class _Gates:
    """CodePipeline's record of who passed each manual approval (list_action_executions)."""

    def list_action_executions(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "actionExecutionDetails": [
                {
                    "stageName": gate,
                    "actionName": "LeadDataScientistApproval",
                    "status": "Succeeded",
                    "updatedBy": LEAD,
                }
                for gate in ("ApproveStaging", "ApproveProd")
            ]
        }


def test_select_record_promote_and_answer_whats_in_prod(aws: dict[str, Any]) -> None:
    sm = aws["sagemaker"]
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    approved = _package(sm, "Approved")
    _package(sm, "Rejected")
    _package(sm, "PendingManualApproval")

    arn = select(sm, GROUP, "dev", "exec-1")
    assert arn == approved
    record(sm, _Gates(), "dev", arn, "exec-1", "p", "")
    assert in_stage(sm, GROUP, "dev").approver == "fake-user-profile-name"  # moto's LastModifiedBy
    assert in_stage(sm, GROUP, "prod") is None
    for stage, gate in (("staging", "ApproveStaging"), ("prod", "ApproveProd")):
        assert select(sm, GROUP, stage, "exec-1") == approved
        record(sm, _Gates(), stage, approved, "exec-1", "p", f"{gate}/LeadDataScientistApproval")
    prod = in_stage(sm, GROUP, "prod")
    assert (prod.package_arn, prod.version, prod.approver) == (approved, 1, LEAD)
    metadata = sm.describe_model_package(ModelPackageName=approved)["CustomerMetadataProperties"]
    assert metadata["mlops:current-stage"] == "prod"
    # the approved package was deployed: a new dev run finds nothing new to deploy
    with pytest.raises(PromotionError, match="no Approved, undeployed"):
        select(sm, GROUP, "dev", "exec-2")
    # a later execution cannot promote what another execution smoke-tested
    with pytest.raises(PromotionError, match="found 0"):
        select(sm, GROUP, "staging", "exec-2")


def test_record_promotion_writes_through_boto3(aws: dict[str, Any]) -> None:
    sm = aws["sagemaker"]
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = _package(sm, "Approved")
    now = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    record_promotion(sm, arn, "dev", LEAD, execution_id="e", now=now)
    stored = sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    assert stored["mlops:dev:approved-by"] == LEAD
    assert stored["mlops:dev:deployed-at"] == "2026-11-29T02:00:00Z"


def test_staging_promotes_exactly_what_this_execution_deployed_to_dev() -> None:
    def pkg(version: int, execution: str | None) -> dict[str, Any]:
        meta = (
            {deployed_marker("dev"): "t", "mlops:dev:pipeline-execution": execution}
            if execution
            else {}
        )
        return {
            "ModelPackageArn": f"arn:{version}",
            "ModelPackageVersion": version,
            "ModelApprovalStatus": "Approved",
            "CustomerMetadataProperties": meta,
        }

    packages = [pkg(1, "exec-a"), pkg(2, "exec-b"), pkg(3, None)]
    assert choose_package(packages, "staging", "exec-a") == "arn:1"
    assert choose_package(packages, "dev", "exec-c") == "arn:3"
    with pytest.raises(PromotionError, match="found 0"):
        choose_package(packages, "prod", "exec-z")


class _Answer:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self._body = status, json.dumps(body).encode()

    def read(self) -> bytes:
        return self._body

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture(scope="module")
def decision_schema() -> dict[str, Any]:
    """The rendered Remedy inference repo's response schema (what its decide step returns)."""
    from mlops.config import load_all_stack_configs
    from mlops.rehearsal.contracts import response_schema
    from mlops.rehearsal.programs import render_inference_repo
    from mlops.usecases import load_manifests

    manifest = next(m for m in load_manifests() if m.name == "remedy")
    schema = response_schema(render_inference_repo(manifest, load_all_stack_configs()["dev"]))
    assert schema is not None
    return schema


def _answer(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "decision_id": "d-1",
        "claim_id": "SMOKE-0001",
        "recommendation": "repair",
        "decided_by": "ECONOMIC",
        "confidence": 0.9,
        "currency": "GBP",
        "reasons": [{"rule": "ECONOMIC", "code": "REPAIR_CHEAPER", "sentence": "Repair."}],
        "pav": {"value": 9000.0},
        "versions": {"rule_set": "1", "jurisdiction": "uk"},
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def test_smoke_test_signs_with_sigv4_and_validates_the_answer_against_the_schema(
    decision_schema: dict[str, Any],
) -> None:
    from botocore.credentials import Credentials

    creds = Credentials("AKIDEXAMPLE", "secret", "token")
    url = "https://abc123.execute-api.eu-west-2.amazonaws.com/v1/v1/decisions"
    seen: list[Any] = []
    good = _answer()

    def ok(request: Any, timeout: int) -> _Answer:
        seen.append(request)
        return _Answer(200, good)

    body = b'{"claim_id": "c-1"}'
    assert smoke(url, body, creds, "eu-west-2", decision_schema, opener=ok) == good
    headers = {k.lower(): v for k, v in seen[0].header_items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-2/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "token"

    def answering(status: int, answer: dict[str, Any]) -> Any:
        return lambda request, timeout: _Answer(status, answer)

    bad = {
        "a field the API never returns": ({"decision": "repair"}, "missing field 'recommendation'"),
        "a fourth recommendation": (_answer(recommendation="approve"), "'approve' is not one of"),
        "no reasons": (_answer(reasons=[]), "no reasons"),
        "reasons missing": (_answer(reasons=None), "missing field 'reasons'"),
        "wrong type": (_answer(confidence="high"), "'confidence' is not of type number"),
    }
    for label, (answer, message) in bad.items():
        with pytest.raises(PromotionError, match=message):
            smoke(url, body, creds, "eu-west-2", decision_schema, opener=answering(200, answer))
        assert label
    with pytest.raises(PromotionError, match="HTTP 500"):
        smoke(url, body, creds, "eu-west-2", decision_schema, opener=answering(500, good))
    with pytest.raises(PromotionError, match="cannot check the answer"):
        smoke(url, body, creds, "eu-west-2", {"properties": {}}, opener=ok)
    with pytest.raises(ValueError, match="must be https"):
        smoke("http://x/v1/decisions", body, creds, "eu-west-2", decision_schema, opener=ok)


def test_the_smoke_contract_holds_for_the_rendered_inference_repo(
    decision_schema: dict[str, Any],
) -> None:
    from mlops.delivery.deploy import SMOKE_REQUIRED_FIELDS, schema_problems

    assert schema_problems(decision_schema) == []
    assert set(SMOKE_REQUIRED_FIELDS) <= set(decision_schema["required"])
    enum = decision_schema["properties"]["recommendation"]["enum"]
    assert sorted(enum) == ["investigate", "repair", "write_off"]


# --- buildspecs and IAM --------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec",
    [
        buildspecs.training_tests,
        buildspecs.upsert_and_start_pipeline,
        buildspecs.deploy,
        buildspecs.smoke_test,
        buildspecs.onboard,
    ],
)
def test_buildspecs_are_valid_yaml_with_a_build_phase(spec: Any) -> None:
    doc = yaml.safe_load(spec())
    assert doc["version"] == 0.2 and doc["phases"]["build"]["commands"]


def test_inference_deploys_run_under_the_platform_policy_pack() -> None:
    commands = yaml.safe_load(buildspecs.deploy())["phases"]["build"]["commands"]
    (up,) = [c for c in commands if c.startswith("pulumi up")]
    assert "--policy-pack" in up and "mlops.policy.pack" in up


def test_a_first_deploy_creates_the_stack_with_a_kms_secrets_provider() -> None:
    commands = yaml.safe_load(buildspecs.deploy())["phases"]["build"]["commands"]
    (select,) = [c for c in commands if c.startswith("pulumi stack select")]
    assert "--create" in select and '--secrets-provider "$PULUMI_SECRETS_PROVIDER"' in select
    before_up = commands.index(select) < next(
        i for i, c in enumerate(commands) if c.startswith("pulumi up")
    )
    assert before_up
    from mlops.config import load_all_stack_configs
    from mlops.delivery.deployer import inference_secrets_provider

    cfg = load_all_stack_configs()["prod"]
    # every stage's stack lives in dev's backend: dev's bootstrap secrets key encrypts them
    assert inference_secrets_provider(cfg) == (
        "awskms://alias/mlops-dev-pulumi-secrets?region=eu-west-2"
    )


def test_the_smoke_test_validates_against_the_repos_schema() -> None:
    commands = yaml.safe_load(buildspecs.smoke_test())["phases"]["build"]["commands"]
    (smoke_cmd,) = [c for c in commands if "mlops.delivery.deploy smoke" in c]
    assert "--repo ." in smoke_cmd and "tests/smoke/request.json" in smoke_cmd


def test_deny_wins_over_any_allow() -> None:
    pipeline = "arn:aws:codepipeline:eu-west-2:111111111111:mlops-dev-remedy-deploy"
    admin = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert (
        identity_decision([admin], "codepipeline:PutApprovalResult", f"{pipeline}/A/B") == "Allow"
    )
    assert (
        identity_decision(
            [admin, iam.document(deny_approval_statements(pipeline))],
            "codepipeline:PutApprovalResult",
            f"{pipeline}/A/B",
        )
        == "Deny"
    )


# --- CLI: `mlops promotions <usecase>` -------------------------------------------------------
def test_promotions_cli_answers_whats_in_prod_and_who_approved(aws: dict[str, Any]) -> None:
    from typer.testing import CliRunner

    from mlops.cli import app

    sm = aws["sagemaker"]
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = _package(sm, "Approved")
    for stage in ("dev", "staging", "prod"):
        record_promotion(
            sm,
            arn,
            stage,
            LEAD,
            execution_id="exec-1",
            now=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
        )
    _package(sm, "Approved")  # a newer approved package, not yet deployed anywhere
    result = CliRunner().invoke(app, ["promotions", "remedy"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        *(
            f"{stage}: version 1 ({arn}) approved by {LEAD}, deployed 2026-11-29T02:00:00Z"
            for stage in ("dev", "staging", "prod")
        ),
        "awaiting approval: none",
    ]


def test_promotions_cli_rejects_an_unknown_usecase() -> None:
    from typer.testing import CliRunner

    from mlops.cli import app
    from mlops.errors import UsageError

    result = CliRunner().invoke(app, ["promotions", "no-such-usecase"])
    assert isinstance(result.exception, UsageError)  # main() prints it with its fix, exit 2
    assert result.exception.message == "no manifest usecases/no-such-usecase.yaml"
    assert "remedy" in result.exception.fix


# --- build pipeline: upsert + start the training repo's SageMaker Pipeline --------------------
def _fake_training_module() -> Any:
    """A rendered repo's `recipe` module (templates/*/training/.../recipe.py) and a stand-in for
    the governed pipeline builder that records what it was given."""
    import types

    calls: list[tuple[str, Any]] = []

    class Pipeline:
        def upsert(self, role_arn: str) -> None:
            calls.append(("upsert", role_arn))

        def start(self, parameters: Any = None) -> Any:
            calls.append(("start", parameters))
            return types.SimpleNamespace(arn="arn:aws:sagemaker:eu-west-2:1:pipeline/p/execution/e")

    def build(settings: Any, recipe: Any) -> Pipeline:
        calls.append(("build", (settings, recipe)))
        return Pipeline()

    return types.SimpleNamespace(RECIPE="the recipe", build=build, calls=calls)


BUILD_ENV = {
    "USECASE": "remedy",
    "ENVIRONMENT": "dev",
    "ACCOUNT_ID": "111111111111",
    "AWS_REGION": "eu-west-2",
    "SM_PIPELINE_ROLE_ARN": "arn:r",
    "ARTIFACT_BUCKET": "b",
    "KMS_KEY_ARN": "arn:k",
    "SUBNET_IDS": "subnet-a,subnet-b",
    "SECURITY_GROUP_IDS": "sg-a",
    "CODE_PREFIX": "remedy/code/" + "0" * 64,
    "EVAL_METRIC": "total_loss_auc",
    "EVAL_THRESHOLD": "0.8",
    "EVAL_DIRECTION": "maximize",
    "TUNING_MAX_JOBS": "100",
    "TUNING_MAX_PARALLEL": "20",
    "SM_PIPELINE_NAME": "mlops-dev-remedy-training",
    "TRAINING_IMAGE_URI": "1.dkr.ecr.eu-west-2.amazonaws.com/t@sha256:" + "a" * 64,
    "INFERENCE_IMAGE_URI": "1.dkr.ecr.eu-west-2.amazonaws.com/i@sha256:" + "b" * 64,
}


def test_run_pipeline_upserts_and_starts_with_platform_settings() -> None:
    from mlops.delivery.run_pipeline import run

    module = _fake_training_module()
    result = run(module, BUILD_ENV, upsert=True, start=True, build=module.build)
    (_, (settings, recipe)), *rest = module.calls
    assert settings.subnet_ids == ("subnet-a", "subnet-b") and settings.kms_key_id == "arn:k"
    assert (settings.eval_metric, settings.tuning_max_parallel) == ("total_loss_auc", 20)
    assert recipe == "the recipe"
    assert rest == [("upsert", "arn:r"), ("start", None)]
    assert result["execution"].endswith("/execution/e")
    # the build log names the digests the definition runs
    assert result["training_image"] == BUILD_ENV["TRAINING_IMAGE_URI"]
    assert result["inference_image"] == BUILD_ENV["INFERENCE_IMAGE_URI"]


def test_a_backtesting_recipe_starts_with_the_newest_approved_model_as_current(monkeypatch) -> None:
    """The Backtest step compares the candidate with the live model: the build passes the model
    data of the group's newest Approved package (a Rejected or pending one never)."""
    import types

    import boto3
    from moto import mock_aws

    from mlops.delivery.run_pipeline import run

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    module = _fake_training_module()
    module.RECIPE = types.SimpleNamespace(backtest_script="backtest.py")
    group = "mlops-dev-remedy-models"
    spec = {"Containers": [{"Image": "1.dkr.ecr.eu-west-2.amazonaws.com/i@sha256:" + "b" * 64}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"]}  # fmt: skip
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="eu-west-2")
        sm.create_model_package_group(ModelPackageGroupName=group)
        first = run(module, BUILD_ENV, upsert=False, start=True, build=module.build, registry=sm)
        assert module.calls[-1] == ("start", None)  # nothing approved yet: candidate alone
        assert first["current_model"].startswith("none")
        for n, status in enumerate(("Approved", "Approved", "Rejected", "PendingManualApproval")):
            containers = [
                {**spec["Containers"][0], "ModelDataUrl": f"s3://r/remedy/models/{n}.tgz"}
            ]
            sm.create_model_package(
                ModelPackageGroupName=group, ModelApprovalStatus=status,
                InferenceSpecification={**spec, "Containers": containers},
            )  # fmt: skip
        result = run(module, BUILD_ENV, upsert=False, start=True, build=module.build, registry=sm)
    assert module.calls[-1] == ("start", {"CurrentModelUri": "s3://r/remedy/models/1.tgz"})
    assert result["current_model"] == "s3://r/remedy/models/1.tgz"


def test_run_pipeline_refuses_a_pipeline_the_platform_did_not_allow() -> None:
    from mlops.delivery.run_pipeline import run
    from mlops.errors import MlopsError

    module = _fake_training_module()
    env = {**BUILD_ENV, "SM_PIPELINE_NAME": "mlops-dev-other-training"}
    with pytest.raises(MlopsError, match="the platform allows 'mlops-dev-other-training'"):
        run(module, env, upsert=True, start=True, build=module.build)
    assert module.calls == []


def test_run_pipeline_refuses_to_start_without_the_image_digests() -> None:
    from mlops.delivery.run_pipeline import run
    from mlops.errors import MlopsError

    module = _fake_training_module()
    env = {k: v for k, v in BUILD_ENV.items() if k != "INFERENCE_IMAGE_URI"}
    with pytest.raises(MlopsError, match=r"^INFERENCE_IMAGE_URI is not set") as caught:
        run(module, env, upsert=True, start=True, build=module.build)
    assert "Images stage" in caught.value.fix
    assert module.calls == []


def test_pipeline_module_is_found_in_a_rendered_training_repo(tmp_path: Any) -> None:
    from mlops.delivery.run_pipeline import find_pipeline_module

    (tmp_path / "src" / "remedy_training").mkdir(parents=True)
    (tmp_path / "src" / "remedy_training" / "recipe.py").write_text("")
    assert find_pipeline_module(tmp_path) == "remedy_training.recipe"


def test_templates_register_into_the_group_the_platform_creates() -> None:
    """Contract: both sides name the group with usecase_name(ctx, name, 'models', 'sagemaker');
    the templates only pass a recipe to the platform's governed pipeline."""
    from mlops.components.usecase_roles import model_package_group_name
    from mlops.config import REPO_ROOT
    from mlops.naming import NameContext
    from mlops.sagemaker_pipelines import PipelineSettings

    ctx = NameContext("dev", "111111111111", "eu-west-2")
    assert model_package_group_name(ctx, "remedy") == "mlops-dev-remedy-models"
    settings = PipelineSettings.from_env(BUILD_ENV)
    assert settings.model_package_group == model_package_group_name(ctx, "remedy")
    assert settings.pipeline_name == "mlops-dev-remedy-training"
    assert not list((REPO_ROOT / "templates").glob("*/training/src/*_training/pipeline.py"))
    recipes = sorted((REPO_ROOT / "templates").glob("*/training/src/*_training/recipe.py"))
    assert len(recipes) == 2
    for recipe in recipes:
        assert "RECIPE = TrainingRecipe(" in recipe.read_text()


def test_config_args_refuse_values_that_would_split() -> None:
    from mlops.delivery.deploy import config_args

    assert config_args({"endpointMode": "serverless"}) == "endpointMode=serverless"
    with pytest.raises(ValueError, match="cannot be passed as a word"):
        config_args({"instanceType": "ml.m5.large; rm -rf /"})
