"""Audit baseline: CloudTrail (multi-region, validation, KMS, Object Lock), GuardDuty, Config,
Inspector for Lambda, KMS-encrypted log groups with the configured retention."""

from __future__ import annotations

from components._helpers import ctx_of, of_type, policy, statements, tags_of
from mlops.components.audit import CONFIG_RULES, Audit, AuditArgs
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

LOGS_KEY = "arn:aws:kms:eu-west-2:111111111111:key/logs"
DATA_BUCKET = "arn:aws:s3:::mlops-x-data"


def _build(cfg: StackConfig) -> Audit:
    return Audit(
        "audit",
        AuditArgs(
            names=ctx_of(cfg),
            tags=tags_of(cfg),
            logs_key_arn=LOGS_KEY,
            access_logs_bucket="access-logs",
            log_retention_days=cfg.retention.log_days,
            audit_years=cfg.retention.audit_years,
            lock_mode=cfg.audit_lock_mode,
            data_event_bucket_arns=[DATA_BUCKET],
        ),
    )


def test_cloudtrail(stack_config: StackConfig, pulumi_mocks: RecordingMocks) -> None:
    run(lambda: _build(stack_config))
    (trail,) = of_type(pulumi_mocks, "aws:cloudtrail/trail:Trail")
    i = trail.inputs
    assert i["isMultiRegionTrail"] is True
    assert i["enableLogFileValidation"] is True
    assert i["includeGlobalServiceEvents"] is True
    assert i["kmsKeyId"] == LOGS_KEY
    assert i["s3BucketName"] == pulumi_mocks.named("audit-bucket-bucket").inputs["bucket"]
    data = [s for s in i["advancedEventSelectors"] if s["name"].startswith("customer-data")]
    arns = next(f for f in data[0]["fieldSelectors"] if f["field"] == "resources.ARN")
    assert arns["startsWiths"] == [f"{DATA_BUCKET}/"]


def test_audit_bucket_object_lock_is_compliance_outside_dev_for_the_compliance_period(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _build(stack_config))
    bucket = pulumi_mocks.named("audit-bucket-bucket")
    assert bucket.inputs["objectLockEnabled"] is True
    rule = pulumi_mocks.named("audit-bucket-object-lock").inputs["rule"]["defaultRetention"]
    mode = "GOVERNANCE" if stack_config.environment == "dev" else "COMPLIANCE"
    assert rule == {"mode": mode, "years": stack_config.retention.audit_years}
    sids = statements(policy(pulumi_mocks.named("audit-bucket-policy")))
    write = sids["CloudTrailWrite"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Condition"]["StringEquals"]["aws:SourceArn"].endswith(
        f":trail/mlops-{stack_config.environment}-trail"
    )
    assert {"ConfigAclCheck", "ConfigWrite", "DenyInsecureTransport"} <= set(sids)


def test_log_groups_are_encrypted_with_retention(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _build(stack_config))
    for group in of_type(pulumi_mocks, "aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"] == LOGS_KEY, group.name
        assert group.inputs["retentionInDays"] == stack_config.retention.log_days, group.name


def test_guardduty_config_and_inspector(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _build(stack_config))
    (detector,) = of_type(pulumi_mocks, "aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    (recorder,) = of_type(pulumi_mocks, "aws:cfg/recorder:Recorder")
    assert recorder.inputs["recordingGroup"]["allSupported"] is True
    (channel,) = of_type(pulumi_mocks, "aws:cfg/deliveryChannel:DeliveryChannel")
    assert channel.inputs["s3KmsKeyArn"] == LOGS_KEY
    (status,) = of_type(pulumi_mocks, "aws:cfg/recorderStatus:RecorderStatus")
    assert status.inputs["isEnabled"] is True
    rules = {
        r.inputs["source"]["sourceIdentifier"] for r in of_type(pulumi_mocks, "aws:cfg/rule:Rule")
    }
    assert rules == set(CONFIG_RULES)
    assert {"S3_BUCKET_SSL_REQUESTS_ONLY", "CMK_BACKING_KEY_ROTATION_ENABLED"} <= rules
    (inspector,) = of_type(pulumi_mocks, "aws:inspector2/enabler:Enabler")
    assert set(inspector.inputs["resourceTypes"]) == {"LAMBDA", "LAMBDA_CODE"}
    assert inspector.inputs["accountIds"] == [stack_config.account_id]


def _lock_args(env: str, mode: str) -> AuditArgs:
    from mlops.naming import NameContext

    return AuditArgs(names=NameContext(env, "111111111111", "eu-west-2"), tags={},
                     logs_key_arn=LOGS_KEY, access_logs_bucket="access-logs",
                     log_retention_days=30, audit_years=1, lock_mode=mode)  # fmt: skip


def test_governance_lock_only_in_dev() -> None:
    import pytest

    assert _lock_args("dev", "GOVERNANCE").lock_mode == "GOVERNANCE"
    assert _lock_args("prod", "COMPLIANCE").lock_mode == "COMPLIANCE"
    for env in ("staging", "prod"):
        with pytest.raises(ValueError, match=f"GOVERNANCE in {env}: .* COMPLIANCE mode"):
            _lock_args(env, "GOVERNANCE")
