"""Pulumi mocks that record every registered resource, and a runner for whole programs.

Used by the test-suite and by `mlops preview` / `mlops check`, so what a user sees offline is
exactly what the tests assert on. Computed outputs are realistic (arn, id, name, bucket) and in
camelCase, as the providers return them.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

PROJECT = "mlops-platform"
DEFAULT_ACCOUNT = "111111111111"
DEFAULT_REGION = "eu-west-2"


@dataclass
class RecordedResource:
    """One resource as the engine would have received it (inputs only, camelCase)."""

    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    urn: str
    parent_urn: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def is_component(self) -> bool:
        return not self.custom

    def __repr__(self) -> str:  # short, so assertion messages stay readable
        return f"<{self.type} {self.name}>"


def _service(typ: str) -> str:
    # "aws:s3/bucket:Bucket" -> "s3"; "aws:index/provider" edge cases fall back to the package.
    pkg, _, rest = typ.partition(":")
    return rest.split("/")[0] if "/" in rest else pkg


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource; answers the invokes our programs make."""

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        az_count: int = 3,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.az_count = az_count
        self.stack_outputs = dict(stack_outputs or {})
        self.resources: list[RecordedResource] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._parents: dict[str, str] = {}

    # --- resources -----------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        state = dict(inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            ref = inputs.get("name", args.name)
            outputs = self.stack_outputs.get(ref, self.stack_outputs.get(args.name, {}))
            state = {**inputs, "outputs": dict(outputs), "secretOutputNames": []}
            return f"{args.name}-id", state
        if args.custom:
            state.update(self._computed(args.typ, args.name, inputs))
        resource_id = state.get("id") or f"{args.name}-id"
        return (resource_id if args.custom else None), state

    def _computed(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        physical = inputs.get("name") or inputs.get("bucket") or name
        service = _service(typ)
        arn = f"arn:aws:{service}:{self.region}:{self.account_id}:{physical}"
        out: dict[str, Any] = {"arn": arn, "id": f"{name}-id"}
        if "name" not in inputs:
            out["name"] = physical
        if typ == "aws:s3/bucket:Bucket":
            out.update(
                bucket=physical,
                arn=f"arn:aws:s3:::{physical}",
                id=physical,
                bucketRegionalDomainName=f"{physical}.s3.{self.region}.amazonaws.com",
            )
        elif typ.startswith("aws:iam/"):
            kind = typ.rsplit(":", 1)[-1].lower()
            out["arn"] = f"arn:aws:iam::{self.account_id}:{kind}/{physical}"
        elif typ == "aws:kms/key:Key":
            key_id = f"{name}-key-id"
            out.update(id=key_id, keyId=key_id, arn=f"arn:aws:kms:{self.region}:"
                       f"{self.account_id}:key/{key_id}")  # fmt: skip
        elif typ == "aws:ec2/vpc:Vpc":
            out.update(
                id=f"vpc-{zlib.crc32(name.encode()):08x}", defaultSecurityGroupId="sg-default"
            )
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{physical}"
        elif typ == "aws:sagemaker/domain:Domain":
            out.update(id="d-mockdomain0001", homeEfsFileSystemId="fs-mock0001", url="https://mock")
        elif typ == "aws:lambda/function:Function":
            out["invokeArn"] = f"arn:aws:apigateway:{self.region}:lambda:path/functions/{arn}"
        return out

    # --- invokes -------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list] | dict:
        self.calls.append((args.token, dict(args.args)))
        invoke = args.token
        if invoke == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/mock",
                "userId": "AIDAMOCK",
                "id": self.account_id,
            }
        if invoke == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if invoke == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if invoke == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{c}" for c in "abcdef"[: self.az_count]]
            return {"names": names, "zoneIds": [f"euw2-az{i + 1}" for i in range(len(names))]}
        return {}

    # --- inspection ----------------------------------------------------------------------
    def of_type(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def type_counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)

    def duplicate_keys(self) -> list[tuple[str, str]]:
        """(type, name) pairs registered more than once: the real engine rejects these."""
        counts = Counter((r.type, r.name) for r in self.resources)
        return sorted(k for k, n in counts.items() if n > 1)

    def children_of(self, resource: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent_urn == resource.urn]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that keeps each resource's parent URN (mocks alone never see it)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request):  # gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources.get(response.urn)
            self.recording.resources.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    inputs=_plain(pulumi.runtime.rpc.deserialize_properties(request.object)),
                    custom=bool(request.custom),
                    urn=response.urn,
                    parent_urn=request.parent,
                    state=dict(registration.state) if registration else {},
                )
            )
        return response

    def ReadResource(self, request):  # StackReference arrives as a read
        response = super().ReadResource(request)
        self.recording.resources.append(
            RecordedResource(
                type=request.type,
                name=request.name,
                inputs=_plain(pulumi.runtime.rpc.deserialize_properties(request.properties)),
                custom=True,
                urn=response.urn,
                parent_urn=request.parent,
            )
        )
        return response


def _plain(value: Any) -> Any:
    """Deserialized protobuf structures -> plain dicts/lists, unknowns as None."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def install(
    mocks: RecordingMocks,
    stack: str,
    config: Mapping[str, str] | None = None,
    project: str = PROJECT,
) -> None:
    """Configure the Pulumi runtime for an offline, non-preview run of one stack."""
    pulumi.runtime.settings.reset_options(project=project, stack=stack)
    pulumi.runtime.set_all_config(dict(config or {}))
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=False, monitor=RecordingMonitor(mocks)
    )


def run(build: Callable[[], Any]) -> None:
    """Run `build` as a Pulumi program and wait until every registration and apply is done.

    Exceptions raised inside `.apply` callbacks surface here (tests rely on it).
    """
    pulumi.runtime.test(build)()


def policy_documents(resources: list[RecordedResource]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy document the program produced, as (resource name, parsed JSON)."""
    keys = ("policy", "assumeRolePolicy", "inlinePolicies")
    docs: list[tuple[str, dict[str, Any]]] = []
    for r in resources:
        for key in keys:
            value = r.inputs.get(key)
            if key == "inlinePolicies" and isinstance(value, list):
                docs += [(f"{r.name}.{p.get('name')}", json.loads(p["policy"])) for p in value
                         if isinstance(p, dict) and isinstance(p.get("policy"), str)]  # fmt: skip
            elif isinstance(value, str) and value.lstrip().startswith("{"):
                parsed = json.loads(value)
                if "Statement" in parsed:
                    docs.append((f"{r.name}.{key}", parsed))
    return docs
