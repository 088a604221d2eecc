"""Helpers every component that writes logs shares: a CloudWatch log group encrypted with the
stack's logs key and kept for the configured retention (not a component: the caller's resource,
named and parented by the caller)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def encrypted_log_group(
    resource_name: str,
    *,
    physical_name: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    retention_days: int,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogGroup:
    """A CloudWatch log group with our logs key and the configured retention."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=physical_name,
        kms_key_id=kms_key_arn,
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=opts,
    )
