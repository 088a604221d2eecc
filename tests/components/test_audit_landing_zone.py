"""Landing-zone coexistence: per service, the audit baseline creates the singleton,
adopts (imports) the existing one, or leaves it to the organisation."""

from __future__ import annotations

import json

import pytest

from components._helpers import ctx_of, policy, statements, tags_of
from mlops.components.audit import CONFIG_RULES, Audit, AuditArgs
from mlops.config import LandingZone, StackConfig
from mlops.rehearsal import declare
from mlops.testing.mocks import RecordingMocks, run

LOGS_KEY = "arn:aws:kms:eu-west-2:111111111111:key/logs"
DETECTOR = "00b00fd5aecc0ab60a708659477e9617"
SINGLETONS = {
    "aws:guardduty/detector:Detector",
    "aws:cfg/recorder:Recorder",
    "aws:cfg/deliveryChannel:DeliveryChannel",
    "aws:cloudtrail/trail:Trail",
    "aws:inspector2/enabler:Enabler",
}


def _zone(mode: str, account: str) -> LandingZone:
    ids = {
        "guardduty": {"detectorId": DETECTOR},
        "config": {"recorderName": "aws-controltower-BaselineConfigRecorder",
                   "deliveryChannelName": "aws-controltower-BaselineConfigDeliveryChannel"},
        "cloudtrail": {"trailArn": f"arn:aws:cloudtrail:eu-west-2:{account}:trail/acme-trail"},
        "inspector": {},
    }  # fmt: skip
    return LandingZone.model_validate(
        {svc: {"mode": mode, **(extra if mode == "adopt" else {})} for svc, extra in ids.items()}
    )


def _build(cfg: StackConfig, mode: str) -> list:
    with declare.collecting() as actors:
        run(lambda: Audit("audit", AuditArgs(
            names=ctx_of(cfg), tags=tags_of(cfg), logs_key_arn=LOGS_KEY,
            access_logs_bucket="access-logs", log_retention_days=cfg.retention.log_days,
            audit_years=cfg.retention.audit_years, lock_mode=cfg.audit_lock_mode,
            landing_zone=_zone(mode, cfg.account_id))))  # fmt: skip
    return actors


def _types(mocks: RecordingMocks) -> set[str]:
    return {r.type for r in mocks.resources if r.custom}


def test_create_is_the_default_and_makes_every_singleton(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    assert stack_config.landing_zone == LandingZone()
    actors = _build(stack_config, "create")
    assert _types(pulumi_mocks) >= SINGLETONS
    assert not [r.name for r in pulumi_mocks.resources if r.import_id]
    assert {a.step for a in actors} >= {"CloudTrail delivers log files",
                                        "AWS Config delivers snapshots and history"}  # fmt: skip


def test_adopt_imports_the_existing_ones_and_leaves_them_on_destroy(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    actors = _build(stack_config, "adopt")
    acct = stack_config.account_id
    imported = {r.type: r for r in pulumi_mocks.resources if r.import_id}
    assert set(imported) == SINGLETONS
    assert {t: r.import_id for t, r in imported.items()} == {
        "aws:guardduty/detector:Detector": DETECTOR,
        "aws:cfg/recorder:Recorder": "aws-controltower-BaselineConfigRecorder",
        "aws:cfg/deliveryChannel:DeliveryChannel": "aws-controltower-BaselineConfigDeliveryChannel",
        "aws:cloudtrail/trail:Trail": f"arn:aws:cloudtrail:eu-west-2:{acct}:trail/acme-trail",
        "aws:inspector2/enabler:Enabler": f"{acct}-LAMBDA:LAMBDA_CODE",
    }
    assert all(r.retain_on_delete for r in imported.values())
    # the physical names are the existing ones (a different name would be a replacement)
    assert imported["aws:cloudtrail/trail:Trail"].inputs["name"] == "acme-trail"
    assert imported["aws:cfg/recorder:Recorder"].inputs["name"] == (
        "aws-controltower-BaselineConfigRecorder"
    )
    # the platform's bar stays declared; where the existing ones deliver is theirs
    trail = imported["aws:cloudtrail/trail:Trail"]
    assert trail.inputs["isMultiRegionTrail"] is True
    assert trail.inputs["enableLogFileValidation"] is True
    assert "s3BucketName" in trail.ignore_changes
    assert "roleArn" in imported["aws:cfg/recorder:Recorder"].ignore_changes
    # no delivery plumbing of our own, and no runtime delivery into our bucket
    roles = {r.inputs["name"] for r in pulumi_mocks.of_type("aws:iam/role:Role")}
    assert not {n for n in roles if n.endswith(("-cloudtrail-logs", "-config"))}
    assert not pulumi_mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    sids = statements(policy(pulumi_mocks.named("audit-bucket-policy")))
    assert not {"CloudTrailWrite", "ConfigWrite"} & set(sids)
    assert actors == []
    assert pulumi_mocks.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    assert pulumi_mocks.of_type("aws:cfg/recorderStatus:RecorderStatus")


def test_organization_creates_none_of_them(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    actors = _build(stack_config, "organization")
    types = _types(pulumi_mocks)
    assert not (SINGLETONS & types), SINGLETONS & types
    assert not {"aws:guardduty/detectorFeature:DetectorFeature",
                "aws:cfg/recorderStatus:RecorderStatus"} & types  # fmt: skip
    assert not pulumi_mocks.of_type("aws:iam/role:Role")
    assert actors == []
    # what stays ours: the audit bucket (locked) and the rules that check the platform's promises
    assert pulumi_mocks.named("audit-bucket-object-lock")
    assert len(pulumi_mocks.of_type("aws:cfg/rule:Rule")) == len(CONFIG_RULES)
    sids = statements(policy(pulumi_mocks.named("audit-bucket-policy")))
    assert not {"CloudTrailAclCheck", "CloudTrailWrite", "ConfigAclCheck", "ConfigWrite"} & set(
        sids
    )


@pytest.mark.parametrize("mode", ["create", "adopt", "organization"])
def test_each_mode_is_recorded_in_the_outputs(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks, mode: str
) -> None:
    _build(stack_config, mode)
    (component,) = [r for r in pulumi_mocks.resources if r.type == "mlops:audit:Audit"]
    outputs = json.loads(json.dumps(component.registered_outputs, default=str))
    assert outputs["landing_zone"] == dict.fromkeys(
        ("guardduty", "config", "cloudtrail", "inspector"), mode
    )
