"""Pricing functions for the platform's own resources: storage, keys, network, logs, audit,
delivery and people. Registered in `mlops.cost.pricers.PRICERS` by the `@prices` decorator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from mlops.cost.model import Context, LineItem
from mlops.cost.pricers import _n, physical, prices
from mlops.testing.mocks import RecordedResource


# --- storage and keys -------------------------------------------------------------------------
@prices("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _buckets(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    n = len(resources)
    gb = n * u.s3_gb_per_bucket
    puts, gets = n * u.s3_puts_per_bucket, n * u.s3_gets_per_bucket
    return [
        LineItem(
            resources[0].type, f"{n} bucket(s): S3 Standard storage", n, "GB-month", gb,
            gb * p.get("s3.standard_gb_month"), f"{u.s3_gb_per_bucket:g} GB per bucket",
        ),
        LineItem(
            resources[0].type, f"{n} bucket(s): requests", n, "requests", puts + gets,
            puts / 1000 * p.get("s3.put_per_thousand") + gets / 1000 * p.get("s3.get_per_thousand"),
            f"{_n(u.s3_puts_per_bucket)} PUT + {_n(u.s3_gets_per_bucket)} GET per bucket",
        ),
    ]  # fmt: skip


@prices("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey")
def _keys(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    n = len(resources)
    requests = n * u.kms_requests_per_key
    return [
        LineItem(
            resources[0].type, f"{n} customer-managed key(s)", n, "key-months", n,
            n * p.get("kms.key_month"), "rotation on; one key-month each",
        ),
        LineItem(
            resources[0].type, f"{n} key(s): API requests", n, "requests", requests,
            requests / 10_000 * p.get("kms.requests_per_10k"),
            f"{_n(u.kms_requests_per_key)} requests per key (S3 bucket keys on)",
        ),
    ]  # fmt: skip


@prices("aws:ecr/repository:Repository")
def _ecr(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    n, u = len(resources), ctx.usage
    gb = n * u.ecr_gb_per_repository
    return [LineItem(
        resources[0].type, f"{n} repositories: image storage", n, "GB-month", gb,
        gb * ctx.prices.get("ecr.storage_gb_month"), f"{u.ecr_gb_per_repository:g} GB each",
    )]  # fmt: skip


@prices("aws:codeartifact/domain:Domain")
def _codeartifact(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    """Storage is billed per domain (assets are shared by its repositories), plus requests."""
    n, u, p = len(resources), ctx.usage, ctx.prices
    gb, requests = n * u.codeartifact_gb, n * u.codeartifact_requests
    return [LineItem(
        resources[0].type, f"{n} CodeArtifact domain(s): packages and requests", n, "GB-month", gb,
        gb * p.get("codeartifact.storage_gb_month")
        + requests / 10_000 * p.get("codeartifact.requests_per_10k"),
        f"{u.codeartifact_gb:g} GB cached; {_n(u.codeartifact_requests)} requests "
        "(package index + downloads of every build's install)",
    )]  # fmt: skip


@prices("aws:secretsmanager/secret:Secret")
def _secrets(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    n, u, p = len(resources), ctx.usage, ctx.prices
    cost = n * p.get("secretsmanager.secret_month") + (
        n * u.secret_requests / 10_000 * p.get("secretsmanager.requests_per_10k")
    )
    return [LineItem(
        resources[0].type, f"{n} secret(s)", n, "secret-months", n, cost,
        f"{_n(u.secret_requests)} API calls per secret",
    )]  # fmt: skip


# --- network ----------------------------------------------------------------------------------
@prices("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoints(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    interface = [r for r in resources if (r.inputs.get("vpcEndpointType") or "Gateway") ==
                 "Interface"]  # fmt: skip
    gateway = [r for r in resources if (r.inputs.get("vpcEndpointType") or "Gateway") == "Gateway"]
    other = [r for r in resources if r not in interface and r not in gateway]
    items = []
    if interface:
        az_hours = sum(len(r.inputs.get("subnetIds") or []) or ctx.az_count for r in interface)
        az_hours *= ctx.hours
        gb = len(interface) * u.endpoint_gb_per_month
        items.append(LineItem(
            resources[0].type, f"{len(interface)} interface endpoint(s)", len(interface),
            "endpoint-AZ-hours", az_hours,
            az_hours * p.get("vpc.interface_endpoint_az_hour")
            + gb * p.get("vpc.interface_endpoint_gb"),
            f"one ENI per subnet listed (else {ctx.az_count} AZs) x {ctx.hours:g} h; "
            f"{u.endpoint_gb_per_month:g} GB each",
        ))  # fmt: skip
    if gateway:
        items.append(LineItem(
            resources[0].type, f"{len(gateway)} gateway endpoint(s) (S3/DynamoDB)", len(gateway),
            "endpoints", len(gateway), 0.0, "gateway endpoints are free",
        ))  # fmt: skip
    for r in other:
        ctx.flag(r.type, f"{physical(r)}: {r.inputs.get('vpcEndpointType')} endpoints not priced")
    return items


@prices("aws:ec2/natGateway:NatGateway")
def _nat(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    n, u, p = len(resources), ctx.usage, ctx.prices
    hours, gb = n * ctx.hours, n * u.nat_gb_per_month
    return [LineItem(
        resources[0].type, f"{n} NAT gateway(s)", n, "gateway-hours", hours,
        hours * p.get("vpc.nat_gateway_hour") + gb * p.get("vpc.nat_gateway_gb"),
        f"always on; {u.nat_gb_per_month:g} GB processed each",
    )]  # fmt: skip


@prices("aws:ec2/eip:Eip")
def _eips(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    n = len(resources)
    hours = n * ctx.hours
    return [LineItem(
        resources[0].type, f"{n} public IPv4 address(es)", n, "address-hours", hours,
        hours * ctx.prices.get("vpc.public_ipv4_hour"), "charged whether attached or not",
    )]  # fmt: skip


@prices("aws:ec2/flowLog:FlowLog")
def _flow_logs(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    to_s3 = [r for r in resources if r.inputs.get("logDestinationType") == "s3"]
    items = []
    if to_s3:
        gb = len(to_s3) * ctx.usage.flow_log_gb
        items.append(LineItem(
            resources[0].type, f"{len(to_s3)} flow log(s) to S3", len(to_s3), "GB delivered", gb,
            gb * ctx.prices.get("cloudwatch.vended_logs_to_s3_gb"),
            f"{ctx.usage.flow_log_gb:g} GB each (vended logs)",
        ))  # fmt: skip
    rest = len(resources) - len(to_s3)
    if rest:
        items.append(LineItem(
            resources[0].type, f"{rest} flow log(s) to CloudWatch Logs", rest, "flow logs", rest,
            0.0, "ingest counted on the destination log group",
        ))  # fmt: skip
    return items


# --- logs, audit, compliance ------------------------------------------------------------------
@prices("aws:cloudwatch/logGroup:LogGroup")
def _log_groups(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    groups = Counter(int(r.inputs.get("retentionInDays") or 0) for r in resources)
    items = []
    for retention, n in sorted(groups.items()):
        ingest = n * u.log_gb_per_group
        months = min(retention or 365, 365) / u.days_per_month
        stored = ingest * months
        items.append(LineItem(
            resources[0].type, f"{n} log group(s), {retention or 'never-expire'} days retention",
            n, "GB ingested", ingest,
            ingest * p.get("cloudwatch.logs_ingest_gb")
            + stored * p.get("cloudwatch.logs_storage_gb_month"),
            f"{u.log_gb_per_group:g} GB/group/month; steady state stores {months:.1f} months"
            " (uncompressed, upper bound; never-expire capped at 12)",
        ))  # fmt: skip
    return items


@prices("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm",
        "aws:cloudwatch/dashboard:Dashboard")  # fmt: skip
def _monitoring(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    typ, n = resources[0].type, len(resources)
    key = {
        "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm_month",
        "aws:cloudwatch/compositeAlarm:CompositeAlarm": "composite_alarm_month",
        "aws:cloudwatch/dashboard:Dashboard": "dashboard_month",
    }[typ]
    rate = ctx.prices.get(f"cloudwatch.{key}")
    return [LineItem(typ, f"{n} {typ.rsplit(':', 1)[-1]}(s)", n, "months", n, n * rate,
                     f"${rate} per month each")]  # fmt: skip


@prices("aws:cloudtrail/trail:Trail")
def _trails(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    items = []
    for index, r in enumerate(resources):
        data = any(s.get("dataResources") for s in r.inputs.get("eventSelectors") or []) or any(
            f.get("field") == "eventCategory" and "Data" in (f.get("equals") or [])
            for s in r.inputs.get("advancedEventSelectors") or []
            for f in s.get("fieldSelectors") or []
        )
        extra_copy = index > 0 and r.inputs.get("includeGlobalServiceEvents", True)
        cost, notes, quantity = 0.0, ["management events: first copy free"], 0.0
        if extra_copy:
            cost += (
                u.management_events
                / 100_000
                * p.get("cloudtrail.additional_management_events_per_100k")
            )
            notes = [f"additional copy of {_n(u.management_events)} management events"]
        if data:
            quantity = u.cloudtrail_data_events
            cost += quantity / 100_000 * p.get("cloudtrail.data_events_per_100k")
            notes.append(f"{_n(quantity)} data events")
        items.append(LineItem(r.type, physical(r), 1, "data events", quantity, cost,
                              "; ".join(notes)))  # fmt: skip
    return items


@prices("aws:guardduty/detector:Detector")
def _guardduty(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    items = []
    for r in resources:
        if r.inputs.get("enable") is False:
            continue
        cost = u.management_events / 1e6 * p.get(
            "guardduty.cloudtrail_events_per_million"
        ) + u.guardduty_flow_dns_gb * p.get("guardduty.flow_dns_logs_gb")
        items.append(LineItem(
            r.type, physical(r), 1, "events analysed", u.management_events, cost,
            f"{_n(u.management_events)} CloudTrail events + {u.guardduty_flow_dns_gb:g} GB "
            "flow/DNS logs (optional protection plans not included)",
        ))  # fmt: skip
    return items


@prices("aws:cfg/recorder:Recorder")
def _config_recorder(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    n, u = len(resources), ctx.usage
    items_recorded = n * u.config_items
    return [LineItem(
        resources[0].type, f"{n} configuration recorder(s)", n, "configuration items",
        items_recorded, items_recorded * ctx.prices.get("config.configuration_item"),
        f"{_n(u.config_items)} items recorded per month (continuous recording)",
    )]  # fmt: skip


@prices("aws:cfg/rule:Rule", "aws:cfg/conformancePack:ConformancePack")
def _config_rules(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    n, u, typ = len(resources), ctx.usage, resources[0].type
    pack = typ.endswith("ConformancePack")
    per = u.config_evaluations_per_rule * (10 if pack else 1)
    key = "conformance_pack_evaluation" if pack else "rule_evaluation"
    return [LineItem(
        typ, f"{n} {'conformance pack' if pack else 'rule'}(s)", n, "evaluations", n * per,
        n * per * ctx.prices.get(f"config.{key}"),
        f"{_n(u.config_evaluations_per_rule)} evaluations per rule"
        + (" x 10 rules per pack" if pack else ""),
    )]  # fmt: skip


# --- delivery ---------------------------------------------------------------------------------
@prices("aws:codepipeline/pipeline:Pipeline")
def _pipelines(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    v2 = [r for r in resources if (r.inputs.get("pipelineType") or "V1") == "V2"]
    v1 = len(resources) - len(v2)
    items = []
    if v2:
        minutes = len(v2) * u.pipeline_runs * u.pipeline_action_minutes
        items.append(LineItem(
            resources[0].type, f"{len(v2)} V2 pipeline(s)", len(v2), "action-minutes", minutes,
            minutes * p.get("codepipeline.v2_action_minute"),
            f"{u.pipeline_runs:g} runs x {u.pipeline_action_minutes:g} action-minutes "
            "(100 free minutes/month not deducted)",
        ))  # fmt: skip
    if v1:
        items.append(LineItem(
            resources[0].type, f"{v1} V1 pipeline(s)", v1, "pipeline-months", v1,
            v1 * p.get("codepipeline.v1_pipeline_month"), "active pipelines",
        ))  # fmt: skip
    return items


@prices("aws:codebuild/project:Project")
def _builds(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u = ctx.usage
    rates = ctx.prices.table("codebuild.build_minute")
    groups = Counter(
        str((r.inputs.get("environment") or {}).get("computeType") or "BUILD_GENERAL1_SMALL")
        for r in resources
    )
    items = []
    for compute, n in sorted(groups.items()):
        if compute not in rates:
            ctx.flag(resources[0].type, f"compute type {compute} not in the price table")
            continue
        minutes = n * u.pipeline_runs * u.build_minutes
        items.append(LineItem(
            resources[0].type, f"{n} project(s), {compute}", n, "build minutes", minutes,
            minutes * rates[compute],
            f"{u.pipeline_runs:g} builds x {u.build_minutes:g} min each",
        ))  # fmt: skip
    return items


# --- people -----------------------------------------------------------------------------------
@prices("aws:sagemaker/userProfile:UserProfile")
def _studio_users(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    n = len(resources)
    rate = p.table("sagemaker.studio_instance_hour").get(u.studio_instance_type)
    if rate is None:
        ctx.flag(resources[0].type, f"Studio instance {u.studio_instance_type} not priced")
        return []
    hours, efs = n * u.studio_hours_per_user, n * u.studio_efs_gb_per_user
    return [LineItem(
        resources[0].type, f"{n} Studio user(s)", n, "app-hours", hours,
        hours * rate + efs * p.get("efs.standard_gb_month"),
        f"{u.studio_hours_per_user:g} h/user on {u.studio_instance_type} (idle shutdown) + "
        f"{u.studio_efs_gb_per_user:g} GB EFS home",
    )]  # fmt: skip


@prices("aws:inspector2/enabler:Enabler")
def _inspector(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    """Inspector bills what it scans: the stack's Lambda functions, pushed images, instances."""
    u, p = ctx.usage, ctx.prices
    kinds = {str(k).upper() for r in resources for k in r.inputs.get("resourceTypes") or []}
    functions = len(ctx.of_type("aws:lambda/function:Function"))
    instances = len(ctx.of_type("aws:ec2/instance:Instance"))
    cost, notes = 0.0, []
    if "LAMBDA" in kinds:
        cost += functions * p.get("inspector.lambda_standard_function_month")
        notes.append(f"{functions} Lambda function(s)")
    if "LAMBDA_CODE" in kinds:
        cost += functions * p.get("inspector.lambda_code_function_month")
        notes.append("code scanning")
    if "ECR" in kinds:
        cost += u.ecr_images_pushed * p.get("inspector.ecr_image_initial_scan")
        notes.append(f"{u.ecr_images_pushed:g} images pushed")
    if "EC2" in kinds:
        cost += instances * p.get("inspector.ec2_instance_month")
        notes.append(f"{instances} EC2 instance(s)")
    return [LineItem(
        resources[0].type, f"Inspector: {', '.join(sorted(kinds)) or 'nothing enabled'}",
        len(resources), "scans", functions + instances, cost, "; ".join(notes) or "-",
    )]  # fmt: skip
