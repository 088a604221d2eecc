"""The IAM action catalogue (parliament's copy of the Service Authorization Reference): real
actions, their resource ARN formats and condition keys, and clear errors for typos."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops.rehearsal import catalogue
from mlops.rehearsal.catalogue import UnknownActionError


def test_check_action_returns_canonical_spelling():
    """Service Authorization Reference — actions are case-insensitive; the catalogue spells them."""
    assert catalogue.check_action("S3:getobject") == "s3:GetObject"
    assert catalogue.check_action("sagemaker:createmodelpackage") == "sagemaker:CreateModelPackage"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("s3:GetObjet", "did you mean s3:GetObject"),
        ("sagemaker:CreateModelPackages", "sagemaker:CreateModelPackage"),
        ("s4:GetObject", "unknown IAM service prefix 's4'"),
        ("GetObject", "not an IAM action"),
        ("s3:Get*", "is a pattern"),
    ],
)
def test_unknown_actions_raise_clear_errors(action, message):
    """A typo in a declared call must fail loudly with the closest real actions."""
    with pytest.raises(UnknownActionError) as exc:
        catalogue.check_action(action)
    assert message in str(exc.value)
    assert exc.value.fix


@pytest.mark.parametrize(
    ("action", "arn", "accepted"),
    [
        ("s3:GetObject", "arn:aws:s3:::bucket/key/with/slashes", True),
        ("s3:GetObject", "arn:aws:s3:::bucket", False),  # a bucket is not an object
        ("s3:ListBucket", "arn:aws:s3:::bucket", True),
        ("s3:ListBucket", "arn:aws:s3:::bucket/prefix", False),
        ("s3:ListAllMyBuckets", "*", True),
        ("sts:GetCallerIdentity", "*", True),
        ("sagemaker:CreateModel", "*", False),  # it takes a model ARN
        ("sagemaker:CreateModel", "arn:aws:sagemaker:eu-west-2:111111111111:model/m", True),
        ("kms:Decrypt", "arn:aws:kms:eu-west-2:111111111111:key/1234abcd", True),
        ("kms:Decrypt", "arn:aws:kms:eu-west-2:111111111111:alias/app", False),
        ("sts:AssumeRole", "arn:aws:iam::111111111111:role/path/deployer", True),
        ("iam:PassRole", "arn:aws:iam::111111111111:user/bob", False),
        ("lambda:InvokeFunction", "arn:aws:lambda:eu-west-2:111111111111:function:f:live", True),
        (
            "logs:PutLogEvents",
            "arn:aws:logs:eu-west-2:111111111111:log-group:/aws/x:log-stream:s",
            True,
        ),
    ],
)
def test_accepts_resource(action, arn, accepted):
    """Service Authorization Reference — "Resource types defined by ..." ARN formats."""
    assert catalogue.accepts_resource(action, arn) is accepted


def test_resource_arn_formats():
    assert catalogue.resource_arn_formats("s3:GetObject") == (
        "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
    )
    assert catalogue.resource_arn_formats("s3:ListAllMyBuckets") == ()


@pytest.mark.parametrize(
    ("action", "keys"),
    [
        (
            "kms:Decrypt",
            {
                "kms:ViaService",
                "kms:CallerAccount",
                "kms:EncryptionContext:${EncryptionContextKey}",
                "kms:EncryptionContextKeys",
            },
        ),
        ("kms:CreateGrant", {"kms:GrantIsForAWSResource", "kms:GrantOperations"}),
        ("iam:PassRole", {"iam:PassedToService"}),
        ("iam:CreateRole", {"iam:PermissionsBoundary"}),
        ("iam:CreateServiceLinkedRole", {"iam:AWSServiceName"}),
        (
            "s3:PutObject",
            {"s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"},
        ),
        ("s3:ListBucket", {"s3:prefix"}),
        ("sagemaker:CreateModelPackage", {"sagemaker:ModelApprovalStatus"}),
        ("sagemaker:UpdateModelPackage", {"sagemaker:ModelApprovalStatus"}),
        ("sagemaker:CreateTrainingJob", {"sagemaker:VpcSubnets", "sagemaker:VolumeKmsKey"}),
        ("sts:AssumeRole", {"sts:ExternalId"}),
    ],
)
def test_condition_keys(action, keys):
    """Service Authorization Reference — "Condition keys for ..." the keys this project uses."""
    assert keys <= catalogue.condition_keys(action)


def test_codebuild_has_no_buildspec_override_keys():
    """Service Authorization Reference — AWS CodeBuild: StartBuild documents no condition key for
    buildspec or environment overrides, so IAM cannot see them (attacks must be stopped
    otherwise)."""
    keys = catalogue.condition_keys("codebuild:StartBuild")
    assert not {k for k in keys if re.search("buildspec|override|environment", k, re.I)}


def test_is_condition_key():
    assert catalogue.is_condition_key("kms:EncryptionContext:aws:s3:arn")
    assert catalogue.is_condition_key("S3:X-Amz-Server-Side-Encryption")
    assert catalogue.is_condition_key("aws:ResourceTag/team")
    assert not catalogue.is_condition_key("s3:GetObject")
    assert not catalogue.is_condition_key("kms:ViaServices")


def test_matching_actions():
    assert catalogue.matching_actions("kms:ReEncrypt*") == ("kms:ReEncryptFrom", "kms:ReEncryptTo")
    assert "s3:GetObject" in catalogue.matching_actions("s3:Get*")
    assert catalogue.matching_actions("s3:NoSuch*") == ()


def test_every_action_literal_in_the_project_policies_exists():
    """Every concrete action (and every action pattern) written in the platform's IAM builders and
    components is in the catalogue: a typo there would be invisible to the mocks."""
    root = Path(__file__).resolve().parents[2]
    sources = [root / "mlops" / "iam.py", *sorted((root / "mlops" / "components").glob("*.py"))]
    literal = re.compile(
        r'"((?:s3|kms|iam|sts|sagemaker|codebuild|logs|ecr|lambda|states|'
        r"firehose|sns|sqs|events|codepipeline|cloudtrail|secretsmanager|ssm|"
        r"servicecatalog|cloudformation|ec2|codeconnections|apigateway|"
        r'execute-api):[A-Za-z*?]+)"'
    )
    found = {m for src in sources for m in literal.findall(src.read_text())}
    seen = {m for m in found if not catalogue.is_condition_key(m)}  # keys share the syntax
    assert len(seen) > 30, "the scan found too few actions; the regex no longer fits the code"
    unknown = sorted(
        a
        for a in seen
        if ("*" in a and not catalogue.matching_actions(a))
        or ("*" not in a and "?" not in a and _unknown(a))
    )
    assert not unknown, f"actions not in the IAM catalogue: {unknown}"


def _unknown(action: str) -> bool:
    try:
        catalogue.check_action(action)
    except UnknownActionError:
        return True
    return False
