"""The deployer's permissions are generated from what the inference program registers and
checked in (`mlops/delivery/deployer_permissions.json`): they may not drift from the program,
and each one is needed."""

from __future__ import annotations

import json

import pytest

from mlops.delivery import deployer_permissions as gen
from mlops.delivery.deployer import (
    MANAGED_POLICY_LIMIT,
    deployer_managed_policies,
    deployer_policy,
    placeholders,
)
from mlops.policy.documents import as_list
from mlops.rehearsal import platform_up
from mlops.rehearsal.catalogue import check_action

pytestmark = pytest.mark.xdist_group("rehearsal")
STAGES = ("dev", "staging", "prod")


def test_the_checked_in_permissions_are_what_the_program_registers(rehearsal_runs):
    generated = gen.generate(rehearsal_runs)
    checked_in = json.loads(gen.PERMISSIONS_FILE.read_text())
    assert generated["Statement"] == checked_in["Statement"], (
        "the inference program and deployer_permissions.json have drifted: run "
        "`python -m mlops.delivery.deployer_permissions --write` and review the diff"
    )
    assert checked_in["generated_from"] == [f"remedy-inference/{e}" for e in sorted(STAGES)]


def test_every_generated_action_exists_and_every_placeholder_is_filled(rehearsal_runs):
    for statement in gen.load():
        for action in as_list(statement["Action"]):
            check_action(action)  # raises on an unknown action
    for env, cfg in rehearsal_runs.configs.items():
        doc = deployer_policy(cfg, "remedy", [], "mlops-dev-remedy-models")
        text = json.dumps(doc)
        assert "${" not in text, env
        assert f"{placeholders(cfg, 'remedy', 'g')['Prefix']}-*" in text, env
        # deployed as managed policies, each within IAM's limit (counted without whitespace),
        # together holding every statement but the pass of the model role (inline)
        parts = deployer_managed_policies(cfg, "remedy", "mlops-dev-remedy-models")
        for part in parts:
            assert len(json.dumps(part, separators=(",", ":"))) <= MANAGED_POLICY_LIMIT, env
        assert [s for p in parts for s in p["Statement"]] == doc["Statement"], env


def test_generalise_keeps_names_in_the_use_cases_scope_and_drops_provider_ids():
    names = dict(account="333333333333", dev_account="111111111111", region="eu-west-2",
                 prefix="mlops-prod-remedy", log_prefix="/mlops/prod/remedy",
                 dev_group="mlops-dev-remedy-models")  # fmt: skip
    cases = {
        "arn:aws:sagemaker:eu-west-2:333333333333:model/mlops-prod-remedy-model-1a2b3c4d": (
            "arn:aws:sagemaker:${Region}:${Account}:model/${Prefix}-*"
        ),
        "arn:aws:logs:eu-west-2:333333333333:log-group:/mlops/prod/remedy/decision-api/access": (
            "arn:aws:logs:${Region}:${Account}:log-group:${LogPrefix}/*"
        ),
        "arn:aws:apigateway:eu-west-2::/restapis/hc8odvd3iw/stages/v1": (
            "arn:aws:apigateway:${Region}::/restapis/*"
        ),
        "arn:aws:kms:eu-west-2:333333333333:key/3e018192-fe58-4a08-a5c2-50e7a59b3b7d": (
            "arn:aws:kms:${Region}:${Account}:key/*"
        ),
        "arn:aws:sagemaker:eu-west-2:111111111111:model-package/mlops-dev-remedy-models/1": (
            "arn:aws:sagemaker:${DevRegion}:${DevAccount}:model-package/${DevGroup}/*"
        ),
        # an auto-named model stays literal: the drift test then shows it outside the scope
        "arn:aws:sagemaker:eu-west-2:333333333333:model/remedy-model-model-ba4950b": (
            "arn:aws:sagemaker:${Region}:${Account}:model/remedy-model-model-ba4950b"
        ),
    }
    for arn, pattern in cases.items():
        assert gen.generalise(arn, **names) == pattern, arn
    # the stage's platform buckets by placeholder: each stage's file names its own
    landing = {"mlops-prod-analytics-landing-333333333333-eu-west-2": "AnalyticsLandingBucket"}
    assert (
        gen.generalise(
            "arn:aws:s3:::mlops-prod-analytics-landing-333333333333-eu-west-2",
            **names,
            buckets=landing,
        )
        == "arn:aws:s3:::${AnalyticsLandingBucket}"
    )


def test_each_stage_names_only_its_own_keys_buckets_and_layers(rehearsal_runs):
    """Key uses name the stage's platform keys by alias (a key's ARN holds a provider-made id);
    buckets and layers are the stage's own; no other account or stage appears."""
    text = gen.PERMISSIONS_FILE.read_text()
    assert "333333333333" not in text and "mlops-prod" not in text, "a literal prod name"
    assert "layerVersion/" not in text, "a layer version ARN is ...:layer:<name>:<version>"
    envs = {cfg.environment for cfg in rehearsal_runs.configs.values()}
    for cfg in rehearsal_runs.configs.values():
        env = cfg.environment
        doc = deployer_policy(cfg, "remedy", [], "mlops-dev-remedy-models")
        for s in doc["Statement"]:
            actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
            resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
            foreign = [r for r in resources for o in envs - {env}
                       if f"mlops-{o}-" in r and ":model-package" not in r]  # fmt: skip
            assert not foreign, (env, s)
            if any(a.startswith("kms:") for a in actions) and s["Sid"] != "PulumiSecretsKey":
                aliases = s["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
                aliases = [aliases] if isinstance(aliases, str) else aliases
                assert aliases and all(a.startswith(f"alias/mlops-{env}-") for a in aliases), s


def test_the_inference_program_deploys_in_every_stage_as_its_deployer(estate, runner):
    """The deployer's side of `pulumi up`: every create call of every resource is allowed."""
    from mlops.components.usecase_roles import deployer_role_arn
    from mlops.rehearsal.model import PUBLIC

    cfg = estate.runs.configs["dev"]
    for env in STAGES:
        deployer = deployer_role_arn(cfg, "remedy", env)
        run = estate.program(f"remedy-inference/{env}")
        steps = platform_up.resource_steps(runner, run, deployer, PUBLIC, run.account, "t")
        denied = [(s.step, s.action, s.verdict.reason[:160]) for s in steps
                  if s.principal == deployer and s.verdict.outcome == "denied"]  # fmt: skip
        assert not denied, (env, denied[:5])


def test_a_deployer_missing_one_generated_statement_fails_the_deploy(rehearsal_runs):
    """Regression: the hand-written policy lacked the decision-analytics delivery (Firehose)."""
    from mlops.components.usecase_roles import deployer_role_arn
    from mlops.rehearsal.model import PUBLIC
    from mlops.rehearsal.runner import Runner
    from rehearsal.conftest import mutated

    def drop_firehose(r):
        doc = json.loads(r.inputs["policy"])
        doc["Statement"] = [s for s in doc["Statement"] if not s["Sid"].startswith("Firehose")]
        r.inputs["policy"] = json.dumps(doc)

    holding = tuple(r.name for r in rehearsal_runs.runs["platform/prod"].resources
                    if r.type == "aws:iam/policy:Policy" and "Firehose" in str(r.inputs["policy"])
                    and r.name.startswith("usecase-remedy-deployer-policy-"))  # fmt: skip
    assert holding, "no deployer policy holds the Firehose statements"
    estate, _ = mutated(rehearsal_runs, "platform/prod", holding, drop_firehose)
    inference = estate.program("remedy-inference/prod")
    deployer = deployer_role_arn(rehearsal_runs.configs["prod"], "remedy", "prod")
    steps = platform_up.resource_steps(
        Runner(estate), inference, deployer, PUBLIC, inference.account, "t"
    )
    denied = {s.action for s in steps if s.verdict.outcome == "denied"}
    assert "firehose:CreateDeliveryStream" in denied, denied


def test_role_creation_and_widening_need_the_boundary_and_the_boundary_stays(rehearsal_runs):
    """Governance (23.3) on the generated policy: CreateRole/PutRolePolicy/AttachRolePolicy/
    PutRolePermissionsBoundary only with `iam:PermissionsBoundary` = the use case's boundary, and
    the `BoundaryStays` Deny."""
    from mlops.delivery.deployer import BOUNDARY_GATED, docs_actions
    from mlops.naming import NameContext, boundary_policy_arn

    for env, cfg in rehearsal_runs.configs.items():
        doc = deployer_policy(cfg, "remedy", [], "mlops-dev-remedy-models")
        boundary = boundary_policy_arn(NameContext(cfg.environment, cfg.account_id, cfg.region),
                                       "remedy")  # fmt: skip
        gated = [s for s in doc["Statement"]
                 if s["Effect"] == "Allow" and set(docs_actions(s)) & BOUNDARY_GATED]  # fmt: skip
        assert gated, env
        for s in gated:
            assert s["Condition"]["ArnEquals"] == {"iam:PermissionsBoundary": boundary}, (env, s)
        stays = [s for s in doc["Statement"] if s.get("Sid") == "BoundaryStays"]
        assert stays and stays[0]["Effect"] == "Deny", env
        assert stays[0]["Action"] == "iam:DeleteRolePermissionsBoundary", env


def test_a_permissions_file_granting_create_role_without_the_boundary_is_refused(monkeypatch):
    from mlops.delivery import deployer

    unbounded = [{"Sid": "Iam9", "Effect": "Allow", "Action": ["iam:CreateRole"],
                  "Resource": ["arn:aws:iam::${Account}:role/${Prefix}-*"]}]  # fmt: skip
    monkeypatch.setattr(gen, "load", lambda: unbounded)
    from mlops.config import load_stack_config

    cfg = load_stack_config("dev")
    with pytest.raises(ValueError, match="without the permissions boundary condition"):
        deployer.deployer_policy(cfg, "remedy", [], "mlops-dev-remedy-models")


def test_aws_public_layers_have_a_public_layer_version_permission(estate):
    """The rehearsal knows AWS's published layers (Powertools) are readable by every account, and
    only those: another account's layer without a recorded permission has no resource policy."""
    from mlops.components.analytics import POWERTOOLS_LAYER_VERSION

    layer = "AWSLambdaPowertoolsPythonV3-python312-x86_64"
    public = f"arn:aws:lambda:eu-west-2:017000801446:layer:{layer}:{POWERTOOLS_LAYER_VERSION}"
    policy, _, _ = estate.resource_policy_for("lambda:GetLayerVersion", public)
    assert policy is not None
    assert policy.document["Statement"][0]["Principal"] == "*"
    other = "arn:aws:lambda:eu-west-2:444455556666:layer:someone-elses:1"
    assert estate.resource_policy_for("lambda:GetLayerVersion", other)[0] is None
