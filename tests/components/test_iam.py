"""Pure IAM document builders (mlops.iam): plain dicts, no Pulumi."""

from __future__ import annotations

import runpy

import pytest

from mlops import iam
from mlops.config import flatten_for_mocks, read_stack_file
from mlops.errors import ConfigError
from mlops.program import PROGRAM
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
