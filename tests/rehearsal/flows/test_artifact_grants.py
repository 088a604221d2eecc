"""The artifact contract across accounts (mlops.delivery.artifacts): each stage's model role reads
the registered model where the training pipeline publishes it, and taking away any one side of the
grant (dev's bucket policy, dev's key policy, the model role's own policy) turns the read red."""

from __future__ import annotations

import json

import pytest

from mlops.rehearsal.model import AWS_SERVICE, Call
from mlops.rehearsal.runner import Runner
from mlops.rehearsal.training import package_contract
from rehearsal.conftest import mutated

pytestmark = pytest.mark.xdist_group("rehearsal")
ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}


def _model_role(env: str) -> str:
    return f"arn:aws:iam::{ACCOUNTS[env]}:role/mlops-{env}-remedy-model"


def _read(estate, env: str, resource: str | None = None):
    data = resource or package_contract(estate)["model-data"]
    return Runner(estate).evaluate_call(
        _model_role(env), AWS_SERVICE, ACCOUNTS[env], Call("s3:GetObject", data)
    )


def _without(sid: str, field: str):
    def change(r):
        doc = json.loads(r.inputs[field])
        doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != sid]
        r.inputs[field] = json.dumps(doc)

    return change


def _resource(estate, program: str, typ: str, predicate) -> str:
    run = estate.program(program)
    return next(r.name for r in run.resources if r.type == typ and predicate(r))


def test_the_registered_model_is_published_under_the_usecases_models(estate):
    data = package_contract(estate)["model-data"]
    assert data.startswith("arn:aws:s3:::mlops-dev-model-artifacts-111111111111-eu-west-2/")
    assert "/remedy/models/" in data and data.endswith("/model.tar.gz")


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_stages_model_role_reads_it(estate, env):
    verdict = _read(estate, env)
    assert verdict.outcome == "allowed", verdict


def test_another_usecases_models_stay_out_of_reach(estate):
    data = package_contract(estate)["model-data"].replace("/remedy/models/", "/peer/models/")
    verdict = Runner(estate).evaluate_call(
        _model_role("staging"), AWS_SERVICE, ACCOUNTS["staging"],
        Call("s3:GetObject", data, expect="deny"),
    )  # fmt: skip
    assert verdict.outcome == "denied", verdict


def test_without_the_bucket_policy_side(rehearsal_runs, estate):
    name = _resource(
        estate, "platform/dev", "aws:s3/bucketPolicy:BucketPolicy",
        lambda r: str(r.inputs.get("bucket", "")).startswith("mlops-dev-model-artifacts-"),
    )  # fmt: skip
    changed, _ = mutated(
        rehearsal_runs, "platform/dev", name, _without("ModelReadStaging", "policy")
    )
    verdict = _read(changed, "staging")
    assert verdict.outcome == "denied", verdict
    assert "bucket policy" in verdict.reason
    assert _read(changed, "prod").outcome == "allowed"


def test_without_the_key_policy_side(rehearsal_runs, estate):
    changed, _ = mutated(
        rehearsal_runs, "platform/dev", "keys-artifacts", _without("ModelDecryptProd", "policy")
    )
    verdict = _read(changed, "prod")
    assert verdict.outcome == "denied", verdict
    assert "kms:Decrypt" in verdict.reason or "decrypts" in verdict.reason


def test_without_the_model_roles_own_side(rehearsal_runs, estate):
    program = "remedy-inference/staging"
    name = _resource(
        estate, program, "aws:iam/rolePolicy:RolePolicy",
        lambda r: "ReadRegisteredModels" in str(r.inputs.get("policy", "")),
    )  # fmt: skip
    changed, _ = mutated(rehearsal_runs, program, name, _without("ReadRegisteredModels", "policy"))
    verdict = _read(changed, "staging")
    assert verdict.outcome == "denied", verdict
    assert "mlops-staging-remedy-model" in verdict.reason


@pytest.mark.parametrize("persona", ["data-scientist", "lead-data-scientist"])
def test_only_the_pipeline_overwrites_a_registered_model(estate, persona):
    """Studio's personas may read and write the platform buckets, but not registered models."""
    bucket = estate.bucket_of(package_contract(estate)["model-data"])
    sse = {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": bucket.kms_key,
    }
    call = Call("s3:PutObject", package_contract(estate)["model-data"], sse, expect="deny")
    role = f"arn:aws:iam::111111111111:role/mlops-dev-{persona}"
    verdict = Runner(estate).evaluate_call(role, AWS_SERVICE, "111111111111", call)
    assert verdict.outcome == "denied", verdict
    assert "OnlyPipelinesPublishModels" in verdict.reason or "explicit" in verdict.reason.lower()
