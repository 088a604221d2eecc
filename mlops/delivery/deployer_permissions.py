"""The per-use-case deployer's permissions, derived from what the inference program registers.

The inference repo's program is run under the recording mocks for every stage (the rehearsal's
estate); for every recorded resource, `mlops.rehearsal.provider_calls.required_permissions` says
which `(action, resource ARN)` its create makes with the deployer's credentials (the provider's
calls, and what AWS services do as the caller: KMS grants, service-linked roles, PassRole).
`generate` turns those into ARN *patterns* — account, region, the use case's `mlops-<env>-<usecase>`
prefix, the dev registry's group become placeholders, provider-made ids (API ids, key ids,
scalable targets) become `*` — adds the reviewed lifecycle actions a later deploy needs to update
or replace each resource (`LIFECYCLE`), and groups them into statements. The result is reviewed
and checked in as `deployer_permissions.json`; `mlops.delivery.deployer` builds the policy from
it, and a test regenerates it from the estate and fails when the two differ (so the program and
the deployer cannot drift). Regenerate with::

    python -m mlops.delivery.deployer_permissions --write
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mlops import iam

PERMISSIONS_FILE = Path(__file__).with_name("deployer_permissions.json")

CONDITION_KEYS = (
    "iam:PassedToService",
    "iam:AWSServiceName",
    "kms:ViaService",
    "kms:GrantIsForAWSResource",
    "iam:PermissionsBoundary",
    "kms:ResourceAliases",
)
"""Request context the generated statements keep as conditions (what scopes a PassRole, a
service-linked role, a key use, or the permissions boundary a role must carry); every other
context key is left to the resource's policy. A key's ARN holds a provider-made id (`key/*`), so
a key use also keeps the key's alias (`kms:ResourceAliases`, `${KeyAliasPrefix}-<purpose>`): the
deployer uses exactly the stage's platform keys the program names, not any key of the account."""

MERGED_OPERATORS = ("StringEquals", "ForAnyValue:StringEquals")
"""Operators whose values for one action and resource merge into a list (any of them)."""

BOUNDARY_ACTIONS = frozenset(
    {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
    }
)
"""The IAM actions whose request carries the role's permissions boundary
(`iam:PermissionsBoundary`). Recorded with the use case's boundary, they keep it as an `ArnEquals`
condition (`${Boundary}`), so the deployer creates or widens a role only when it carries the
boundary; lifecycle actions outside this set (DeleteRole, UpdateRole, ...) drop that key (AWS
sends none for them)."""

LIFECYCLE: dict[str, tuple[str, ...]] = {
    # reviewed: what a later `pulumi up` calls to update, replace or delete what the create made
    "sagemaker:CreateModel": ("sagemaker:DeleteModel",),
    "sagemaker:CreateEndpointConfig": ("sagemaker:DeleteEndpointConfig",),
    "sagemaker:CreateEndpoint": ("sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint"),
    "sagemaker:AddTags": ("sagemaker:DeleteTags",),
    "lambda:CreateFunction": (
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:DeleteFunction",
    ),
    "lambda:TagResource": ("lambda:UntagResource",),
    "lambda:AddPermission": ("lambda:RemovePermission",),
    "iam:CreateRole": (
        "iam:DeleteRole",
        "iam:UpdateRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePermissionsBoundary",
    ),
    "iam:AttachRolePolicy": ("iam:DetachRolePolicy",),
    "iam:PutRolePolicy": ("iam:DeleteRolePolicy",),
    "iam:TagRole": ("iam:UntagRole",),
    "states:CreateStateMachine": ("states:UpdateStateMachine", "states:DeleteStateMachine"),
    "states:TagResource": ("states:UntagResource",),
    "logs:CreateLogGroup": ("logs:DeleteLogGroup",),
    "logs:TagResource": ("logs:UntagResource",),
    "logs:PutMetricFilter": ("logs:DeleteMetricFilter",),
    "logs:PutSubscriptionFilter": ("logs:DeleteSubscriptionFilter",),
    "cloudwatch:PutMetricAlarm": ("cloudwatch:DeleteAlarms",),
    "cloudwatch:PutDashboard": ("cloudwatch:DeleteDashboards",),
    "cloudwatch:TagResource": ("cloudwatch:UntagResource",),
    "firehose:CreateDeliveryStream": (
        "firehose:DeleteDeliveryStream",
        "firehose:UpdateDestination",
    ),
    "firehose:TagDeliveryStream": ("firehose:UntagDeliveryStream",),
    "application-autoscaling:RegisterScalableTarget": (
        "application-autoscaling:DeregisterScalableTarget",
    ),
    "application-autoscaling:PutScalingPolicy": ("application-autoscaling:DeleteScalingPolicy",),
    "application-autoscaling:TagResource": ("application-autoscaling:UntagResource",),
    "apigateway:POST": ("apigateway:DELETE",),
    "apigateway:PUT": ("apigateway:DELETE",),
}


# --- generalising recorded ARNs --------------------------------------------------------------
def bucket_placeholder(purpose: str) -> str:
    """`analytics-landing` -> `AnalyticsLandingBucket` (a platform bucket of the stage)."""
    return "".join(p.capitalize() for p in purpose.split("-")) + "Bucket"


def generalise(arn: str, *, account: str, dev_account: str, region: str, prefix: str,
               log_prefix: str, dev_group: str,
               buckets: Mapping[str, str] | None = None) -> str:  # fmt: skip
    """One recorded resource ARN as a pattern with placeholders (`${Account}`, `${DevAccount}`,
    `${Region}`, `${Prefix}`, `${LogPrefix}`, `${DevGroup}`, the stage's platform buckets
    `${<Purpose>Bucket}` from `buckets` {physical name: placeholder}); provider-made ids become
    `*`."""
    if arn == "*":
        return arn
    out = arn
    for physical, placeholder in (buckets or {}).items():
        out = re.sub(rf"^arn:aws:s3:::{re.escape(physical)}(?=/|$)",
                     f"arn:aws:s3:::${{{placeholder}}}", out)  # fmt: skip
    registry = re.compile(
        rf"^arn:aws:sagemaker:{re.escape(region)}:{dev_account}:model-package(?:-group)?/"
        rf"{re.escape(dev_group)}(?:/.*)?$"
    )
    if registry.match(out):
        kind = "model-package-group" if ":model-package-group/" in out else "model-package"
        tail = "" if kind == "model-package-group" else "/*"
        return f"arn:aws:sagemaker:${{DevRegion}}:${{DevAccount}}:{kind}/${{DevGroup}}{tail}"
    out = re.sub(r":key/[0-9a-f-]{36}$", ":key/*", out)
    out = re.sub(r"::/tags/.*$", "::/tags/*", out)
    out = re.sub(r"::/restapis/[^/]+(/.*)?$", "::/restapis/*", out)
    out = re.sub(r":scalable-target/[^/]+$", ":scalable-target/*", out)
    # the group API Gateway names after the REST API's id and the stage (execution logs)
    out = re.sub(
        r":log-group:API-Gateway-Execution-Logs_[^/]+/",
        ":log-group:API-Gateway-Execution-Logs_*/",
        out,
    )
    if log_prefix in out:
        out = out[: out.index(log_prefix)] + "${LogPrefix}/*"
    elif prefix + "-" in out:
        out = out[: out.index(prefix + "-")] + "${Prefix}-*"
    out = out.replace(f":{account}:", ":${Account}:").replace(f"::{account}:", "::${Account}:")
    return out.replace(f":{region}:", ":${Region}:")


def _conditions(
    context: Mapping[str, Any], region: str, boundary: str = "", alias_prefix: str = ""
) -> tuple[tuple[str, str], ...]:
    def text(value: Any) -> str:
        out = str(value).lower() if isinstance(value, bool) else str(value)
        if boundary and out == boundary:
            return "${Boundary}"
        if alias_prefix and out.startswith(alias_prefix + "-"):
            return "${KeyAliasPrefix}" + out.removeprefix(alias_prefix)
        return out.replace(f".{region}.", ".${Region}.")

    out = []
    for k in CONDITION_KEYS:
        if k in context:
            values = context[k] if isinstance(context[k], list | tuple) else [context[k]]
            out += [(k, text(v)) for v in values]
    return tuple(sorted(out))


def key_aliases(runs: Any) -> dict[str, list[str]]:
    """{key ARN: its aliases} over every program of the estate (the platform's keys)."""
    arns: dict[str, str] = {}
    for run in runs.runs.values():
        for r in run.resources:
            if r.type == "aws:kms/key:Key":
                arn = str(r.state.get("arn", ""))
                arns[str(r.state.get("keyId") or r.state.get("id") or "")] = arn
                arns[arn] = arn
    out: dict[str, list[str]] = {}
    for run in runs.runs.values():
        for r in run.resources:
            if r.type == "aws:kms/alias:Alias":
                arn = arns.get(str(r.inputs.get("targetKeyId", "")))
                if arn:
                    out.setdefault(arn, []).append(str(r.inputs.get("name", "")))
    return out


def program_permissions(
    run: Any, dev_account: str, dev_group: str, aliases: Mapping[str, list[str]] | None = None
) -> set[tuple[str, str, tuple]]:
    """`(action, pattern, conditions)` the deployer needs for one recorded inference program
    (`mlops.rehearsal.programs.ProgramRun`), lifecycle actions included; `aliases` ({key ARN:
    aliases}, `key_aliases`) scope each key use to the keys the program names."""
    from mlops.components.storage import BUCKETS
    from mlops.naming import (
        NameContext,
        boundary_policy_arn,
        bucket_name,
        key_alias,
        log_group_name,
        usecase_name,
    )
    from mlops.rehearsal import provider_calls as pc

    usecase = run.project.removesuffix("-inference")
    ctx = NameContext(run.environment, run.account, run.region)
    names = {
        "account": run.account,
        "dev_account": dev_account,
        "region": run.region,
        "prefix": usecase_name(ctx, usecase),
        "log_prefix": log_group_name(ctx, usecase),
        "dev_group": dev_group,
        "buckets": {bucket_name(ctx, p): bucket_placeholder(p) for p in (*BUCKETS, "access-logs")},
    }
    boundary = boundary_policy_arn(ctx, usecase)
    alias_prefix = key_alias(ctx, "")
    view = pc.ProgramView(account=run.account, region=run.region, resources=run.resources)
    found: set[tuple[str, str, tuple]] = set()
    for r in run.custom_resources():
        calls = list(pc.create_calls(r, view))
        calls += [s.call for s in pc.service_call_records(r, view) if s.principal == pc.CALLER]
        for call in calls:
            pattern = generalise(call.resource, **names)
            context = dict(call.context)
            if call.action.startswith("kms:") and (aliases or {}).get(call.resource):
                context["kms:ResourceAliases"] = aliases[call.resource]  # as AWS sets it
            conditions = _conditions(context, run.region, boundary, alias_prefix)
            for action in (call.action, *LIFECYCLE.get(call.action, ())):
                kept = conditions
                if action not in BOUNDARY_ACTIONS:
                    kept = tuple(c for c in conditions if c[0] != "iam:PermissionsBoundary")
                found.add((action, pattern, kept))
    return found


def _condition_block(conditions: tuple[tuple[str, str], ...]) -> dict[str, dict[str, Any]]:
    block: dict[str, dict[str, Any]] = {}
    for key, value in conditions:
        op = {
            "kms:GrantIsForAWSResource": "Bool",
            "iam:PermissionsBoundary": "ArnEquals",
            "kms:ResourceAliases": "ForAnyValue:StringEquals",
        }.get(key, "StringEquals")
        current = block.setdefault(op, {}).get(key)
        if current is None:
            block[op][key] = value
        else:  # several values of one key in one request (a key's aliases): any of them
            block[op][key] = sorted({*([current] if isinstance(current, str) else current), value})
    return block


def statements(permissions: Iterable[tuple[str, str, tuple]]) -> list[dict[str, Any]]:
    """Group `(action, pattern, conditions)` into IAM statements: the values of one condition key
    for the same action and resource merge into a list (StringEquals: any of them); then, per
    service and conditions, actions that share exactly the same resources form one statement
    (so no action is granted on another action's resources)."""
    merged: dict[tuple[str, str, str], set[str]] = {}
    for action, pattern, conditions in permissions:
        merged.setdefault((action, pattern, json.dumps(_condition_block(conditions))), set())
    values: dict[tuple[str, str, str], dict[str, dict[str, set[str]]]] = {}
    for action, pattern, block_json in merged:
        block = json.loads(block_json)
        fixed = {op: {k: v for k, v in keys.items()} for op, keys in block.items()}
        shape = json.dumps(
            {**fixed, **{op: sorted(fixed[op]) for op in MERGED_OPERATORS if op in fixed}},
            sort_keys=True,
        )
        slot = values.setdefault((action, pattern, shape), {})
        for op in MERGED_OPERATORS:
            for key, value in fixed.get(op, {}).items():
                items = [value] if isinstance(value, str) else value
                slot.setdefault(op, {}).setdefault(key, set()).update(items)
    by_key: dict[tuple[str, str, str], set[str]] = {}
    for (action, pattern, shape), slot in values.items():
        block = {op: keys for op, keys in json.loads(shape).items() if op not in MERGED_OPERATORS}
        for op in MERGED_OPERATORS:
            equals = {k: sorted(v) if len(v) > 1 else next(iter(v))
                      for k, v in slot.get(op, {}).items()}  # fmt: skip
            if equals:
                block[op] = equals
        service = action.split(":", 1)[0]
        condition = json.dumps(block, sort_keys=True)
        by_key.setdefault((service, condition, action), set()).add(pattern)
    grouped: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for (service, condition, action), patterns in by_key.items():
        grouped.setdefault((service, condition, tuple(sorted(patterns))), []).append(action)
    out = []
    counts: dict[str, int] = {}
    for (service, condition, patterns), actions in sorted(grouped.items()):
        counts[service] = counts.get(service, 0) + 1
        word = "".join(p.capitalize() for p in re.split(r"[^a-zA-Z0-9]", service) if p)
        out.append(
            iam.statement(
                f"{word}{counts[service]}",
                sorted(actions),
                list(patterns),
                condition=json.loads(condition) or None,
            )
        )
    return out


def generate(runs: Any) -> dict[str, Any]:
    """The checked-in document, from the estate's inference programs (every stage: the stages
    differ, e.g. serverless in dev, real-time with autoscaling and capture in prod)."""
    from mlops.naming import NameContext, model_package_group_name

    dev = runs.configs["dev"]
    dev_group = model_package_group_name(
        NameContext("dev", dev.accounts.dev, dev.region), runs.usecase
    )
    found: set[tuple[str, str, tuple]] = set()
    programs = []
    aliases = key_aliases(runs)
    for run in runs.by_environment(f"{runs.usecase}-inference").values():
        found |= program_permissions(run, dev.accounts.dev, dev_group, aliases)
        programs.append(run.name)
    return {
        "generated_from": sorted(programs),
        "how": "python -m mlops.delivery.deployer_permissions --write (then review the diff)",
        **iam.document(statements(found)),
    }


def load(path: Path = PERMISSIONS_FILE) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["Statement"]


def render(statements_: Iterable[Mapping[str, Any]], values: Mapping[str, str]) -> list[dict]:
    """The checked-in statements with placeholders filled (`values`: Account, DevAccount, Region,
    Prefix, LogPrefix, DevGroup, Boundary)."""

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    # the file's statements are `iam.statement`'s (a single resource is a string already)
    return [fill(dict(s)) for s in statements_]


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a maintainer's command
    import argparse

    from mlops.rehearsal.programs import build_estate_runs

    p = argparse.ArgumentParser(prog="python -m mlops.delivery.deployer_permissions")
    p.add_argument("--usecase", default="remedy")
    p.add_argument("--write", action="store_true", help=f"write {PERMISSIONS_FILE.name}")
    a = p.parse_args(argv)
    text = json.dumps(generate(build_estate_runs(a.usecase)), indent=1, sort_keys=False) + "\n"
    if a.write:
        PERMISSIONS_FILE.write_text(text)
    else:
        print(text, end="")


if __name__ == "__main__":  # pragma: no cover
    main()
