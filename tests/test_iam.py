"""Pure IAM document builders (mlops.iam): plain dicts, no Pulumi."""

from __future__ import annotations

import runpy

import pytest
from rehearsal.iam_fixtures import allow, policy, req

from mlops import iam
from mlops.config import flatten_for_mocks, read_stack_file
from mlops.errors import ConfigError
from mlops.program import PROGRAM
from mlops.rehearsal.evaluator import evaluate
from mlops.rehearsal.model import Principal
from mlops.testing.mocks import RecordingMocks, install, run


def test_trust_policies_have_no_resource() -> None:
    doc = iam.service_trust("sagemaker.amazonaws.com", "111111111111")
    (st,) = doc["Statement"]
    assert "Resource" not in st
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    (st,) = iam.role_trust(["arn:aws:iam::1:role/a"])["Statement"]
    assert "Resource" not in st and st["Principal"] == {"AWS": "arn:aws:iam::1:role/a"}


def test_documents_reject_duplicate_sids_and_bad_effects() -> None:
    st = iam.statement("Same", "s3:GetObject", "arn:aws:s3:::b/*")
    with pytest.raises(ValueError, match="duplicate statement ids"):
        iam.document(st, st)
    with pytest.raises(ValueError, match="Allow or Deny"):
        iam.statement("X", "s3:GetObject", "*", effect="Maybe")


def test_wildcard_admin_detection() -> None:
    admin = iam.document(iam.statement("Admin", "*", "*"))
    assert iam.wildcard_admin_statements(admin) == admin["Statement"]
    deny = iam.document(iam.statement("NoAdmin", "*", "*", effect="Deny"))
    assert iam.wildcard_admin_statements(deny) == []
    scoped = iam.document(iam.statement("Scoped", "*", "arn:aws:s3:::b"))
    assert iam.wildcard_admin_statements(scoped) == []


def test_need_to_know_requires_roles() -> None:
    with pytest.raises(ValueError, match="at least one allowed role"):
        iam.need_to_know("arn:aws:s3:::b", [])


def test_bucket_policy_shape() -> None:
    doc = iam.bucket_policy("arn:aws:s3:::b", "arn:aws:kms:eu-west-2:1:key/k")
    sids = [s["Sid"] for s in doc["Statement"]]
    assert sids == ["DenyInsecureTransport", "DenyNonKmsUploads", "DenyOtherKmsKeys"]


def test_program_refuses_more_azs_than_the_region_has() -> None:
    """The program fails with a ConfigError naming network.azCount (prod asks for 3 AZs)."""
    mocks = RecordingMocks(account_id="333333333333", az_count=2)
    install(mocks, "prod", flatten_for_mocks(read_stack_file("prod")))
    with pytest.raises(ConfigError, match=r"network\.azCount is 3"):
        run(lambda: runpy.run_path(str(PROGRAM), run_name="__main__"))


# --- the bucket and key policy builders, as AWS evaluates them ----------------------------------
BUCKET = "arn:aws:s3:::mlops-prod-data-333333333333-eu-west-2"
KEY = "arn:aws:kms:eu-west-2:333333333333:key/k1"
READER = "arn:aws:iam::333333333333:role/mlops-prod-model-execution"
DEPLOYER = "arn:aws:iam::333333333333:role/mlops-pulumi-deployer"


def _decide(principal, action: str, resource: str, doc: dict, context: dict | None = None):
    return evaluate(
        req(principal, action, resource, "333333333333",
            resource_policy=policy("bp", *doc["Statement"]), context=context or {})
    )  # fmt: skip


def _admin(arn: str) -> Principal:
    return Principal(arn=arn, kind="role", account=arn.split(":")[4],
                     identity_policies=(policy("admin", allow("*", "*")),))  # fmt: skip


def test_kms_only_uploads_deny_only_requests_that_ask_for_other_encryption() -> None:
    """IAM condition operators: a Deny with a negated ...IfExists operator is true when the key is
    missing; with Null:false the Deny applies only to requests that carry the header."""
    doc = iam.bucket_policy(BUCKET, KEY)
    deployer, obj = _admin(DEPLOYER), f"{BUCKET}/.pulumi/stacks/p/s.json"
    assert _decide(deployer, "s3:PutObject", obj, doc).allowed, "headerless upload (default SSE)"
    sse = "s3:x-amz-server-side-encryption"
    kms = {sse: "aws:kms", f"{sse}-aws-kms-key-id": KEY}
    assert _decide(deployer, "s3:PutObject", obj, doc, kms).allowed
    aes = _decide(deployer, "s3:PutObject", obj, doc, {sse: "AES256"})
    assert aes.denied_by[0].sid == "DenyNonKmsUploads"
    other = _decide(deployer, "s3:PutObject", obj, doc, {**kms, f"{sse}-aws-kms-key-id": "k2"})
    assert other.denied_by[0].sid == "DenyOtherKmsKeys"
    for st in doc["Statement"][1:]:
        assert not any(op.endswith("IfExists") for op in st["Condition"]), st["Sid"]


def test_need_to_know_lets_the_deployer_list_but_not_read() -> None:
    doc = iam.bucket_policy(
        BUCKET, KEY, need_to_know_roles=[READER], need_to_know_managers=[DEPLOYER]
    )
    deployer, reader = _admin(DEPLOYER), _admin(READER)
    other = _admin("arn:aws:iam::333333333333:role/mlops-prod-notebook")
    assert _decide(deployer, "s3:ListBucket", BUCKET, doc).allowed, "HeadBucket after create"
    for action in iam.OBJECT_ACTIONS:
        d = _decide(deployer, action, f"{BUCKET}/claims/1.json", doc)
        assert d.denied_by and d.denied_by[0].sid == "DenyAllButNamedRoles", action
        assert _decide(reader, action, f"{BUCKET}/claims/1.json", doc).allowed, action
    assert _decide(other, "s3:ListBucket", BUCKET, doc).denied_by[0].sid == (
        "DenyListingButNamedRoles"
    )


def test_logs_statement_is_scoped_by_the_log_group_encryption_context() -> None:
    st = iam.logs_service_use("eu-west-2", "111111111111", ["/mlops/dev/*"])
    assert st["Principal"] == {"Service": "logs.eu-west-2.amazonaws.com"}
    assert st["Condition"]["StringLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:eu-west-2:111111111111:log-group:/mlops/dev/*"
    )
    whole = iam.logs_service_use("eu-west-2", "111111111111")
    assert whole["Condition"]["StringLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:eu-west-2:111111111111:*"
    )


def test_deployer_key_use_only_through_named_services() -> None:
    role = "arn:aws:iam::1:role/mlops-dev-remedy-deployer"
    st = iam.deployer_use_via([role], "eu-west-2", ["s3", "lambda"])
    # the account names the principal (valid before the role exists); the condition picks the role
    assert st["Principal"] == {"AWS": "arn:aws:iam::1:root"}
    assert st["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": role},
        "StringEquals": {"kms:ViaService": ["s3.eu-west-2.amazonaws.com",
                                            "lambda.eu-west-2.amazonaws.com"]},
    }  # fmt: skip
    assert "kms:CreateGrant" not in st["Action"] and "kms:PutKeyPolicy" not in st["Action"]
