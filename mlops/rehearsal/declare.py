"""Runtime actors, declared next to the code that creates them.

A component that creates something which acts at run time (a CodeBuild project, a pipeline role, a
Lambda, a state machine, a delivery stream) says, right there, what that actor will call::

    from mlops.rehearsal import declare

    declare.actor(
        flow="training",
        step="build: upsert and start the SageMaker pipeline",
        principal=self.build_role.arn,
        account=cfg.account_id,
        origin=declare.vpc(a.vpc_id, a.subnet_ids, a.security_group_ids),
        calls=[
            declare.call("s3:GetObject", pulumi.Output.concat(bucket_arn, "/*"), why="source"),
            declare.call("sagemaker:CreatePipeline", pipeline_arn),
        ],
    )

Arguments may be Pulumi Inputs. Outside a rehearsal (a real `pulumi up`, `mlops preview`, the
tests) ``actor`` returns at once and creates nothing; inside one (``collecting()``), values are
resolved and the ``Actor`` lands in the collector the runner reads.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops.rehearsal.model import AWS_SERVICE, PUBLIC, Actor, Call, Origin

__all__ = ["AWS_SERVICE", "PUBLIC", "actor", "call", "collecting", "service", "vpc"]

_collector: list[Actor] | None = None


@contextlib.contextmanager
def collecting() -> Iterator[list[Actor]]:
    """Collect every actor declared while the block runs (one program run)."""
    global _collector
    previous, _collector = _collector, []
    try:
        yield _collector
    finally:
        _collector = previous


def active() -> bool:
    return _collector is not None


def service(principal: str) -> str:
    """The principal string of an AWS service acting itself (``logs.eu-west-2.amazonaws.com``)."""
    return f"service:{principal}"


def vpc(vpc_id: Any, subnet_ids: Any, security_group_ids: Any) -> dict[str, Any]:
    """An origin inside a VPC; resolved (Inputs allowed) when the actor is recorded."""
    return {"kind": "vpc", "vpc_id": vpc_id, "subnet_ids": subnet_ids, "sgs": security_group_ids}


def call(
    action: str,
    resource: Any = "*",
    *,
    context: Mapping[str, Any] | None = None,
    destination: str | None = None,
    why: str = "",
    expect: str = "allow",
    network_only: bool = False,
) -> dict[str, Any]:
    """One call (Inputs allowed in resource and context values)."""
    return {
        "action": action,
        "resource": resource,
        "context": dict(context or {}),
        "destination": destination,
        "why": why,
        "expect": expect,
        "network_only": network_only,
    }


def _caller() -> str:
    """`mlops/components/x.py:123` of the code that declared the actor (outside this module)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return "?"
    path = Path(frame.f_code.co_filename)
    parts = path.parts
    short = "/".join(parts[parts.index("mlops") :]) if "mlops" in parts else path.name
    return f"{short}:{frame.f_lineno}"


def actor(
    *,
    flow: str,
    step: str,
    principal: Any,
    account: Any,
    origin: Origin | Mapping[str, Any],
    calls: Sequence[Mapping[str, Any]],
    order: int = 100,
    context: Mapping[str, Any] | None = None,
) -> None:
    """Declare a runtime actor (no-op outside a rehearsal)."""
    if _collector is None:
        return
    import pulumi

    sink = _collector
    source = _caller()
    origin_in: Any = origin if isinstance(origin, Origin) else dict(origin)
    values = {
        "principal": principal,
        "account": account,
        "origin": origin_in if isinstance(origin_in, Origin) else _resolve_dict(origin_in),
        "calls": [_resolve_dict(c) for c in calls],
        "context": _resolve_dict(dict(context or {})),
    }

    def record(v: dict[str, Any]) -> None:
        sink.append(
            Actor(
                flow=flow,
                step=step,
                principal=str(v["principal"]),
                account=str(v["account"]),
                origin=_origin(v["origin"]),
                calls=tuple(_call(c) for c in v["calls"]),
                order=order,
                source=source,
                context=dict(v["context"]),
            )
        )

    pulumi.Output.from_input(values).apply(record)


def _resolve_dict(d: Mapping[str, Any]) -> Any:
    import pulumi

    return pulumi.Output.from_input(dict(d))


def _origin(value: Origin | Mapping[str, Any]) -> Origin:
    if isinstance(value, Origin):
        return value
    subnets = value.get("subnet_ids") or ()
    sgs = value.get("sgs") or ()
    return Origin(
        "vpc",
        vpc_id=value.get("vpc_id"),
        subnet_ids=tuple([subnets] if isinstance(subnets, str) else subnets),
        security_group_ids=tuple([sgs] if isinstance(sgs, str) else sgs),
    )


def _call(value: Mapping[str, Any]) -> Call:
    return Call(
        action=value["action"],
        resource=str(value["resource"]),
        context={k: v for k, v in (value.get("context") or {}).items()},
        destination=value.get("destination"),
        why=value.get("why", ""),
        expect=value.get("expect", "allow"),
        network_only=bool(value.get("network_only")),
    )


def service_assumes(
    *,
    flow: str,
    step: str,
    service: str,
    role_arn: Any,
    account: Any,
    source_arn: Any = None,
    order: int = 100,
) -> None:
    """Declare that an AWS service assumes `role_arn` to act (CodeBuild, CodePipeline, Lambda,
    SageMaker, Step Functions, Firehose, ...): the role's trust policy must admit the service, with
    the context the service sends (aws:SourceAccount, aws:SourceArn)."""
    context: dict[str, Any] = {"aws:SourceAccount": account}
    if source_arn is not None:
        context["aws:SourceArn"] = source_arn
    actor(
        flow=flow,
        step=step,
        principal=service_principal(service),
        account=account,
        origin=AWS_SERVICE,
        calls=[
            call("sts:AssumeRole", role_arn, context=context, why=f"{service} assumes its role")
        ],
        order=order,
    )


def service_principal(service: str) -> str:
    return f"service:{service}"
