"""Engine-faithful Pulumi mocks that record every registered resource, and a runner for programs.

Used by the test-suite, ``mlops preview`` / ``mlops check`` and the rehearsal, so what a user sees
offline is exactly what the tests assert on. What the real engine and pulumi-aws do, these do:

- auto-naming: a resource given no physical name gets ``<logical name>-<7 hex>`` in the property
  pulumi-aws auto-names, within its maximum length (``autonaming.py``); a ``namePrefix`` gives
  prefix + 26 characters; the value lands in the resource's state, as the provider returns it;
- provider-computed outputs in AWS's shapes (``outputs.py``), in the provider's account and
  region, with ``tagsAll`` merging the provider's default tags;
- what the engine receives per resource: dependencies, property dependencies, provider, protect,
  import id and the other ``RegisterResource`` options (``RecordedResource``);
- StackReferences resolved through the state-backend layout (``references.py``): a reference into
  another backend fails as it would with the real engine (strict) or is recorded in
  ``reference_failures`` (lenient).

Ids and random suffixes are deterministic per (stack, URN).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import resource_pb2

from mlops.testing import autonaming, outputs, references
from mlops.testing.references import ReferenceFailure, StackReferenceError

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "PROJECT",
    "RecordedResource",
    "RecordingMocks",
    "RecordingMonitor",
    "ReferenceFailure",
    "StackReferenceError",
    "install",
    "policy_documents",
    "run",
]

PROJECT = "mlops-platform"
DEFAULT_ACCOUNT = "111111111111"
DEFAULT_REGION = "eu-west-2"
STACK_REFERENCE = "pulumi:pulumi:StackReference"


@dataclass
class RecordedResource:
    """One resource as the engine received it: inputs (camelCase) and registration options."""

    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    urn: str
    parent_urn: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    """Inputs plus what the provider computed (ids, ARNs, auto-names), camelCase."""
    id: str | None = None
    physical_name: str | None = None
    """The name AWS knows the resource by (given or auto-named), None where the type has none."""
    name_property: str | None = None
    """The property that holds ``physical_name`` (``name``, ``bucket``, ``targetId``, ...)."""
    autonamed: bool = False
    """True when the provider generated ``physical_name`` (the program gave none)."""
    dependencies: list[str] = field(default_factory=list)
    """URNs the engine waits for before creating this resource (inputs and ``depends_on``)."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Per input property, the URNs its value came from."""
    provider: str = ""
    """URN of the explicit provider ("" for the default provider)."""
    provider_ref: str = ""
    """``<provider urn>::<provider id>`` as sent to the engine."""
    providers: dict[str, str] = field(default_factory=dict)
    """Component resources: package -> provider reference handed to children."""
    protect: bool = False
    import_id: str = ""
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    deleted_with: str = ""
    aliases: list[str] = field(default_factory=list)
    read: bool = False
    """Read, not created (StackReference, ``Resource.get``)."""
    registered_outputs: dict[str, Any] = field(default_factory=dict)
    """Component resources: what ``register_outputs`` published."""

    @property
    def is_component(self) -> bool:
        return not self.custom

    @property
    def explicit_dependencies(self) -> list[str]:
        """Dependencies no input explains: ``depends_on`` (and parents' ``depends_on``)."""
        implied = {u for urns in self.property_dependencies.values() for u in urns}
        return [u for u in self.dependencies if u not in implied]

    @property
    def checked_inputs(self) -> dict[str, Any]:
        """Inputs after the provider's Check: with the auto-name, as policies see them."""
        if self.autonamed and self.name_property:
            return {**self.inputs, self.name_property: self.physical_name}
        return dict(self.inputs)

    def __repr__(self) -> str:  # short, so assertion messages stay readable
        return f"<{self.type} {self.name}>"


class _Registration(pulumi_mocks.MockResourceArgs):
    """MockResourceArgs plus what the engine knows and mocks normally do not (URN, provider)."""

    def __init__(self, *, urn: str, parent: str, provider_ref: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urn = urn
        self.parent = parent
        self.provider_ref = provider_ref


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource; answers the invokes our programs make.

    ``backend_url``: where the program under test keeps its state (``s3://...``);
    ``backends``: ``{backend_url: {stack_name: outputs}}``, the state other stacks left behind;
    ``stack_outputs``: stacks in this program's own backend (shorthand for the common case);
    ``strict_references``: raise like the engine on a StackReference it could not read, else
    return the referenced outputs and record the failure in ``reference_failures``.
    """

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        az_count: int = 3,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        backend_url: str | None = None,
        backends: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
        strict_references: bool = True,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.az_count = az_count
        self.backend_url = backend_url or references.DEFAULT_BACKEND
        merged = {url: dict(stacks) for url, stacks in (backends or {}).items()}
        if stack_outputs:
            merged.setdefault(self.backend_url, {}).update(stack_outputs)
        self._raw_backends = merged
        self.strict_references = strict_references
        self.stack_outputs = dict(stack_outputs or {})
        self.resources: list[RecordedResource] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.reference_failures: list[ReferenceFailure] = []
        self.stack_exports: dict[str, Any] = {}
        self.unknown_types: set[str] = set()
        """aws types missing from the auto-naming table (named by setAutonaming's generic rule)."""
        self.stack = "stack"
        self.project = PROJECT
        self._index: dict[str, dict[str, Any]] = {}
        self._providers: dict[str, dict[str, Any]] = {}
        self._names: dict[str, tuple[str, str, bool] | None] = {}
        self._lock = threading.Lock()

    @property
    def backends(self) -> dict[str, dict[str, dict[str, Any]]]:
        return references.normalise(self._raw_backends, self.project)

    # --- resources -----------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(args, inputs)
        if args.typ.startswith("pulumi:providers:"):  # the engine gives providers a UUID id
            h = outputs.digest_hex(f"{self.stack}|{getattr(args, 'urn', args.name)}", 32)
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", inputs
        if not args.custom:
            return None, inputs
        urn = getattr(args, "urn", None) or self._urn(args.typ, args.name)
        account, region, default_tags = self._provider_settings(getattr(args, "provider_ref", ""))
        seed = f"{self.stack}|{urn}"
        named = autonaming.physical_name(args.typ, args.name, inputs, seed)
        known = args.typ in autonaming.RULES or args.typ in autonaming.REQUIRED_NAMES
        if args.typ.startswith("aws:") and not known:
            self.unknown_types.add(args.typ)
        with self._lock:
            self._names[urn] = named
        state = dict(inputs)
        if named is not None:
            state[named[0]] = named[1]
        ctx = outputs.Ctx(
            typ=args.typ, name=args.name, inputs=state, urn=urn, stack=self.stack,
            account=account, region=region, physical=named[1] if named else None,
            index=self._index,
        )  # fmt: skip
        state.update(outputs.computed(ctx))
        if "tags" in inputs:
            state["tagsAll"] = {**default_tags, **(inputs.get("tags") or {})}
        if outputs._service(args.typ) not in outputs.GLOBAL_SERVICES:
            state.setdefault("region", region)
        resource_id = args.resource_id or state.get("id") or f"{args.name}-{ctx.hex(8)}"
        state["id"] = resource_id
        with self._lock:
            self._index[str(resource_id)] = state
        return resource_id, state

    def _urn(self, typ: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{typ}::{name}"

    def _provider_settings(self, provider_ref: str) -> tuple[str, str, dict[str, str]]:
        """Account, region and default tags of the provider a resource uses."""
        provider = self._providers.get(provider_ref.rsplit("::", 1)[0], {}) if provider_ref else {}
        region = provider.get("region") or self.region
        accounts = _json_value(provider.get("allowedAccountIds")) or []
        account = accounts[0] if len(accounts) == 1 else self.account_id
        tags = (_json_value(provider.get("defaultTags")) or {}).get("tags") or {}
        return str(account), str(region), dict(tags)

    def _stack_reference(self, args, inputs: dict[str, Any]) -> tuple[str, dict]:
        name = str(inputs.get("name") or args.name)
        found, failure = references.resolve(
            name, project=self.project, stack=self.stack, backend=self.backend_url,
            backends=self.backends,
        )  # fmt: skip
        if failure is not None:
            if self.strict_references:
                raise references.error_for(failure)
            with self._lock:
                self.reference_failures.append(failure)
        return name, {**inputs, "name": name, "outputs": found, "secretOutputNames": []}

    # --- invokes -------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list] | dict:
        self.calls.append((args.token, dict(args.args)))
        invoke = args.token
        if invoke == "aws:index/getCallerIdentity:getCallerIdentity":
            role_id = "AROA" + outputs.digest_hex(self.account_id, 17).upper()
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:sts::{self.account_id}:assumed-role/mlops-pulumi/mlops-pulumi",
                "userId": f"{role_id}:mlops-pulumi",
                "id": self.account_id,
            }
        if invoke == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com"}  # fmt: skip
        if invoke == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if invoke == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{c}" for c in "abcdef"[: self.az_count]]
            prefix = "".join(w[0] for w in self.region.split("-")[:2]) + self.region.split("-")[-1]
            return {"names": names, "zoneIds": [f"{prefix}-az{i + 1}" for i in range(len(names))],
                    "id": self.region}  # fmt: skip
        if invoke == "aws:ec2/getPrefixList:getPrefixList":
            name = str(args.args.get("name", ""))
            service = name.rsplit(".", 1)[-1]
            pl = outputs.prefix_list_id(self.region, service)
            return {"id": pl, "prefixListId": pl, "name": name, "cidrBlocks": ["52.95.148.0/23"]}
        return {}

    # --- inspection ----------------------------------------------------------------------
    def of_type(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def type_counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)

    def duplicate_keys(self) -> list[tuple[str, str]]:
        """(type, name) pairs registered more than once: the real engine rejects these."""
        counts = Counter((r.type, r.name) for r in self.resources)
        return sorted(k for k, n in counts.items() if n > 1)

    def children_of(self, resource: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent_urn == resource.urn]

    def autonamed(self) -> list[RecordedResource]:
        """Resources whose physical name the provider generated."""
        return [r for r in self.resources if r.autonamed]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that hands mocks the URN and provider, and records what the engine receives."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request):  # gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        pulumi_mocks._ensure_event_loop()
        inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
        args = _Registration(
            urn=urn, parent=request.parent, provider_ref=request.provider,
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
            transforms=pulumi_mocks._resolve_callbacks(request.transforms),
        )  # fmt: skip
        id_, state = self.mocks.new_resource(args)
        obj_proto = pulumi_mocks._sync_await(pulumi.runtime.rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        plain = _plain(inputs)
        if request.type.startswith("pulumi:providers:"):
            self.recording._providers[urn] = plain
        named = self.recording._names.get(urn)
        self.recording.resources.append(
            _recorded(request, urn, plain, dict(state), id_, named, read=False)
        )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)

    def ReadResource(self, request):  # StackReference (and Resource.get) arrive as a read
        urn = self.make_urn(request.parent, request.type, request.name)
        pulumi_mocks._ensure_event_loop()
        inputs = pulumi.runtime.rpc.deserialize_properties(request.properties)
        args = _Registration(
            urn=urn, parent=request.parent, provider_ref=request.provider, typ=request.type,
            name=request.name, inputs=inputs, provider=request.provider, resource_id=request.id,
            custom=True,
        )  # fmt: skip
        id_, state = self.mocks.new_resource(args)
        props_proto = pulumi_mocks._sync_await(pulumi.runtime.rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        self.recording.resources.append(
            _recorded(request, urn, _plain(inputs), _plain(state), id_, None, read=True)
        )
        return resource_pb2.ReadResourceResponse(urn=urn, properties=props_proto)

    def RegisterResourceOutputs(self, request):
        outs = _plain(pulumi.runtime.rpc.deserialize_properties(request.outputs))
        for r in self.recording.resources:
            if r.urn == request.urn:
                r.registered_outputs = outs
        return super().RegisterResourceOutputs(request)


def _recorded(request, urn: str, inputs, state, id_, named, *, read: bool) -> RecordedResource:
    prop, physical, generated = named or (None, None, False)
    provider_ref = request.provider or ""
    prop_deps = {k: list(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()}
    return RecordedResource(
        type=request.type,
        name=request.name,
        inputs=inputs,
        custom=True if read else bool(request.custom),
        urn=urn,
        parent_urn=request.parent,
        state=state,
        id=id_ or None,
        physical_name=physical,
        name_property=prop,
        autonamed=generated,
        dependencies=list(request.dependencies),
        property_dependencies=prop_deps,
        provider=provider_ref.rsplit("::", 1)[0] if provider_ref else "",
        provider_ref=provider_ref,
        providers=dict(getattr(request, "providers", {}) or {}),
        protect=bool(getattr(request, "protect", False)),
        import_id=getattr(request, "importId", "") if not read else request.id,
        delete_before_replace=bool(getattr(request, "deleteBeforeReplace", False)),
        retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
        ignore_changes=list(getattr(request, "ignoreChanges", []) or []),
        replace_on_changes=list(getattr(request, "replaceOnChanges", []) or []),
        additional_secret_outputs=list(getattr(request, "additionalSecretOutputs", []) or []),
        deleted_with=getattr(request, "deletedWith", "") or "",
        aliases=list(getattr(request, "aliasURNs", []) or []),
        read=read,
    )


def _plain(value: Any) -> Any:
    """Deserialized protobuf structures -> plain dicts/lists, unknowns as None."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    """Provider inputs arrive JSON-encoded for nested values."""
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def install(
    mocks: RecordingMocks,
    stack: str,
    config: Mapping[str, str] | None = None,
    project: str = PROJECT,
) -> None:
    """Configure the Pulumi runtime for an offline, non-preview run of one stack."""
    _ensure_event_loop()
    mocks.stack, mocks.project = stack, project
    pulumi.runtime.settings.reset_options(project=project, stack=stack)
    pulumi.runtime.set_all_config(dict(config or {}))
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=False, monitor=RecordingMonitor(mocks)
    )


def run(build: Callable[[], Any]) -> None:
    """Run `build` as a Pulumi program and wait until every registration and apply is done.

    Exceptions raised inside `.apply` callbacks surface here (tests rely on it). The stack's
    exports land in ``mocks.stack_exports`` (what a StackReference to this stack would read).
    """

    def program() -> Any:
        result = build()
        root = pulumi.runtime.get_root_resource()
        monitor = pulumi.runtime.settings.get_monitor()
        exports = dict(getattr(root, "outputs", {}) or {})
        if isinstance(monitor, RecordingMonitor) and exports:
            sink = monitor.recording.stack_exports
            collected = pulumi.Output.from_input(exports).apply(lambda v: sink.update(_plain(v)))
            return [result, collected]
        return result

    _ensure_event_loop()
    pulumi.runtime.test(program)()


def _ensure_event_loop() -> None:
    """Pulumi's runtime uses the thread's current event loop; after an `asyncio.run` elsewhere in
    the process (an ASGI test client, say) there is none, and it would raise "There is no current
    event loop in thread 'MainThread'"."""
    import asyncio

    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


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
