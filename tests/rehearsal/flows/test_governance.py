"""Every bypass of the lead, of the deploy path, of use-case isolation and of
key separation is refused on the real estate, by the statement meant to refuse it; and what the
platform must still do (the lead approves, the pipeline registers PendingManualApproval) works."""

from __future__ import annotations

import pytest

from mlops.rehearsal.model import AWS_SERVICE, PUBLIC, Actor, Call
from mlops.rehearsal.runner import Runner
from mlops.rehearsal.scenarios import run_declared

pytestmark = pytest.mark.xdist_group("rehearsal")
DEV = "111111111111"
SM = f"arn:aws:sagemaker:eu-west-2:{DEV}"
PACKAGE = f"{SM}:model-package/mlops-dev-remedy-models/99"
APPROVED = {"sagemaker:ModelApprovalStatus": "Approved"}
PENDING = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}


def _role(name: str, account: str = DEV) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


@pytest.fixture(scope="module")
def attacks(estate):
    return run_declared(Runner(estate), "attacks").steps


def _steps(attacks, step: str, action: str, principal: str | None = None, resource: str = ""):
    found = [
        s
        for s in attacks
        if s.step == step
        and s.action.startswith(action)
        and (principal is None or s.principal == principal)
        and resource in s.resource
    ]
    assert found, f"no attack step {step!r} {action} {principal or ''} {resource}"
    return found


def _denied_by(steps, sid: str) -> None:
    for s in steps:
        assert s.verdict.outcome == "denied", (s.principal, s.action, s.verdict.reason)
        assert f"statement {sid} " in s.verdict.reason, s.verdict.reason


def _verdict(estate, principal: str, call: Call, origin=PUBLIC):
    runner = Runner(estate)
    actor = Actor("attacks", "probe", principal, DEV, origin, (call,), program="platform/dev")
    [step] = runner.run_actor("attacks", actor)
    return step.verdict


# --- 23.1 approval integrity ------------------------------------------------------------------
DS_STEP = "a data scientist bypasses the lead"


def test_data_scientist_cannot_register_or_approve_a_package(attacks):
    for action in ("sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"):
        _denied_by(
            _steps(attacks, DS_STEP, action, resource="mlops-dev-remedy-models"),
            "OnlyTheLeadSetsApprovalStatus",
        )


def test_data_scientist_changes_the_governed_pipeline_only_through_ci(attacks):
    for action in ("sagemaker:UpdatePipeline", "sagemaker:StartPipelineExecution"):
        _denied_by(
            _steps(attacks, DS_STEP, action, resource="mlops-dev-remedy-training"),
            "GovernedPipelineOnlyThroughCi",
        )


@pytest.mark.parametrize(
    ("step", "role", "action"),
    [
        (
            "a modified training pipeline registers its model as Approved",
            "mlops-dev-remedy-sm-pipeline",
            "sagemaker:CreateModelPackage",
        ),
        ("the deploy build approves a package", "mlops-dev-remedy-deploy-build",
         "sagemaker:UpdateModelPackage"),
        ("the staging deploy build approves a package", "mlops-dev-remedy-deploy-build-staging",
         "sagemaker:UpdateModelPackage"),
        ("the prod deploy build approves a package", "mlops-dev-remedy-deploy-build-prod",
         "sagemaker:UpdateModelPackage"),
        ("the training build re-approves a rejected package", "mlops-dev-remedy-build",
         "sagemaker:UpdateModelPackage"),
    ],
)  # fmt: skip
def test_no_role_but_the_lead_sets_an_approval_status(attacks, step, role, action):
    _denied_by(_steps(attacks, step, action, _role(role)), "OnlyTheLeadSetsApprovalStatus")


def test_the_lead_still_approves_and_the_pipeline_still_registers_pending(estate):
    # the leads approve as the use case's approver role (docs/identity.md), never as Studio
    lead = _role("mlops-dev-remedy-approver")
    approve = Call("sagemaker:UpdateModelPackage", PACKAGE, APPROVED, expect="deny")
    assert _verdict(estate, lead, approve).outcome == "allowed"
    studio_lead = _role("mlops-dev-lead-data-scientist")
    assert _verdict(estate, studio_lead, approve).outcome == "denied"
    register = Call("sagemaker:CreateModelPackage", PACKAGE, PENDING, expect="deny")
    pipeline = _role("mlops-dev-remedy-sm-pipeline")
    assert _verdict(estate, pipeline, register, AWS_SERVICE).outcome == "allowed"
    # the data scientist's own pending registration is not what the guard refuses
    scientist = _role("mlops-dev-data-scientist")
    verdict = _verdict(estate, scientist, register)
    assert "OnlyTheLeadSetsApprovalStatus" not in verdict.reason
    assert "NoApprovalStatusByDataScientists" not in verdict.reason


# --- 23.4 isolation between use cases ---------------------------------------------------------
@pytest.mark.parametrize("role", ["build", "deploy-build"])
def test_a_use_cases_builds_never_reach_another_use_cases_artifacts(attacks, role):
    steps = _steps(attacks, f"the remedy {role} role reaches another use case's artifacts", "")
    assert len(steps) == 6
    for s in steps:
        assert s.verdict.outcome == "denied", (s.action, s.resource, s.verdict.reason)


def test_a_use_cases_builds_still_reach_their_own_artifacts(estate):
    bucket = next(b for b in estate.buckets if b.startswith("mlops-dev-pipeline-artifacts-"))
    for role, key in [
        ("mlops-dev-remedy-build", "mlops-dev-remedy-bui/training_s/x.zip"),
        ("mlops-dev-remedy-build", "remedy/code/source.tar.gz"),
        ("mlops-dev-remedy-deploy-build", "mlops-dev-remedy-dep/inference_/x.zip"),
    ]:
        call = Call("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", expect="deny")
        assert _verdict(estate, _role(role), call, AWS_SERVICE).outcome == "allowed", key


# --- 23.5 keys: administration without use; break-glass -------------------------------------
@pytest.mark.parametrize("program", ["platform/dev", "platform/staging", "platform/prod"])
def test_a_key_administrator_never_uses_a_key_or_grants_itself_its_use(attacks, program):
    steps = [s for s in attacks if s.program == program and s.step.startswith("a key admin")]
    assert len(steps) == 12, program  # four keys x (Decrypt, GenerateDataKey, CreateGrant)
    _denied_by([s for s in steps if s.action != "kms:CreateGrant"], "KeyAdminsNeverUseTheKey")
    _denied_by([s for s in steps if s.action == "kms:CreateGrant"], "KeyAdminsGrantNothing")


def _key_request(cfg, principal_name, action, context=None):
    from mlops.components.keys import KeysArgs, key_policy_for
    from mlops.naming import NameContext
    from mlops.rehearsal.evaluator import evaluate
    from mlops.rehearsal.model import Policy
    from rehearsal.iam_fixtures import allow, policy, req, role

    ctx = NameContext(cfg.environment, cfg.account_id, cfg.region)
    args = KeysArgs(
        names=ctx, tags={}, admin_arns=cfg.key_admin_arns,
        break_glass_arns=[cfg.break_glass_role_arn],
    )  # fmt: skip
    doc = key_policy_for("data", args)
    admin = role(principal_name, policy("AdministratorAccess", allow("*")), account=cfg.account_id)
    key = f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/k"
    return evaluate(
        req(admin, action, key, cfg.account_id, context=context or {}, kind="kms",
            resource_policy=Policy("key policy", doc))
    )  # fmt: skip


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_break_glass_repairs_a_key_policy_only_with_mfa_and_never_uses_the_key(env):
    from mlops.config import load_stack_config

    cfg = load_stack_config(env)
    name = cfg.break_glass_role_arn.split(":role/")[1]
    mfa = {"aws:MultiFactorAuthPresent": True}
    assert _key_request(cfg, name, "kms:PutKeyPolicy", mfa).allowed
    assert not _key_request(cfg, name, "kms:PutKeyPolicy").allowed
    assert not _key_request(cfg, name, "kms:Decrypt", mfa).allowed
    # and the deployer administers, but never decrypts directly
    deployer = cfg.deploy_role_arn.split(":role/")[1]
    assert _key_request(cfg, deployer, "kms:PutKeyPolicy").allowed
    denied = _key_request(cfg, deployer, "kms:Decrypt")
    assert not denied.allowed and "KeyAdminsNeverUseTheKey" in denied.reason


# --- 23.7 serving roles ---------------------------------------------------------------------------
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_serving_roles_cannot_attach_interfaces_outside_their_subnets(attacks, env):
    steps = [
        s
        for s in attacks
        if s.program == f"remedy-inference/{env}" and s.step.endswith("role attaches elsewhere")
    ]
    assert len(steps) == 6, env  # three functions x (subnet, security group)
    for s in steps:
        assert s.verdict.outcome == "denied", (s.principal, s.resource, s.verdict.reason)


# --- 23.3 deployers: every role they create carries the boundary ----------------------------
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_a_deployer_never_creates_or_widens_a_role_without_the_boundary(attacks, env):
    steps = [
        s
        for s in attacks
        if s.step == f"the {env} deployer creates a role without the boundary"
        and "-remedy-" in s.principal
    ]
    assert {s.action for s in steps} == {
        "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePermissionsBoundary"
    }, env  # fmt: skip
    for s in steps:
        assert s.verdict.outcome == "denied", (s.action, s.verdict.reason)
        if s.action == "iam:DeleteRolePermissionsBoundary":
            assert "BoundaryStays" in s.verdict.reason


def test_inference_roles_carry_the_boundary_and_it_forbids_escalation(estate):
    roles = [p for a, p in estate.principals.items() if ":role/mlops-prod-remedy-" in a]
    inference = [p for p in roles if estate.created_by.get(p.arn) == "remedy-inference/prod"]
    assert len(inference) >= 5
    for p in inference:
        assert p.boundary is not None and "mlops-prod-remedy-boundary" in p.boundary.name, p.arn
        assert any(s.get("Sid") == "NoEscalation" for s in p.boundary.document["Statement"])
