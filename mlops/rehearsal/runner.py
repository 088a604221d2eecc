"""Evaluate steps: one call by one principal from one origin → allowed, denied or unreachable.

For each call the runner asks, in the order AWS would fail it:
1. is it a real IAM action (catalogue), and does the principal exist in the estate?
2. network: from the actor's origin, is there a route to the call's destination (reach)?
3. permissions: the request with the caller's identity policies and boundary, the resource's own
   policy (bucket, key + grants, trust, group, API, function, ...) and the VPC endpoint's policy
   (evaluator);
4. what AWS does on the caller's behalf: reading or writing an object of an SSE-KMS bucket makes
   S3 call KMS *as the caller* (kms:ViaService=s3, the bucket's encryption context), which the key
   policy and the caller's identity policies must also allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from mlops.rehearsal.estate import Estate
from mlops.rehearsal.model import Actor, Call, NetworkModel, Origin, Policy

VerdictKind = Literal["allowed", "denied", "unreachable", "invalid"]


@dataclass(frozen=True)
class Verdict:
    outcome: VerdictKind
    reason: str = ""
    via: str = ""


@dataclass(frozen=True)
class ExpectedFailure:
    id: str
    """Glob over ``<scenario> | <program> | <step> | <action> | <resource>``."""
    issue: str
    why: str
    reason: str = "*"
    """Glob over the verdict's reason: an entry covers a failure only for the stated cause."""


@dataclass
class StepResult:
    scenario: str
    program: str
    step: str
    principal: str
    action: str
    resource: str
    expect: str
    verdict: Verdict
    source: str = ""
    why: str = ""
    expected_failure: ExpectedFailure | None = None

    @property
    def id(self) -> str:
        return f"{self.program} | {self.step} | {self.action} | {self.resource}"

    @property
    def ok(self) -> bool:
        allowed = self.verdict.outcome == "allowed"
        return allowed if self.expect == "allow" else not allowed

    @property
    def status(self) -> str:
        if self.ok:
            return "stale-expected" if self.expected_failure else "ok"
        return "known-failure" if self.expected_failure else "failed"


@dataclass
class ScenarioResult:
    name: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    @property
    def known(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "known-failure"]

    @property
    def stale(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "stale-expected"]

    @property
    def status(self) -> str:
        if self.failed or self.stale:
            return "failed"
        return "known failures" if self.known else "passed"


@dataclass
class Runner:
    estate: Estate
    _networks: dict[str, NetworkModel] = field(default_factory=dict)

    @cached_property
    def region(self) -> str:
        return next(iter(self.estate.runs.configs.values())).region

    def network(self, account: str) -> NetworkModel:
        if account not in self._networks:
            from mlops.rehearsal.networks import network_model

            runs = [r for r in self.estate.runs.runs.values() if r.account == account]
            region = runs[0].region if runs else self.region  # a stack in another region
            self._networks[account] = network_model(
                [res for run in runs for res in run.resources], account, region
            )
        return self._networks[account]

    # --- one call ------------------------------------------------------------------------------
    def check_network(
        self, origin: Origin, account: str, call: Call
    ) -> tuple[Verdict, Policy | None]:
        from mlops.rehearsal.reach import destination_for, reach

        if origin.kind != "vpc":
            via = "public internet" if origin.kind == "public" else "AWS internal"
            return Verdict("allowed", via=via), None
        destinations: Any = call.destination or (
            call.resource if call.network_only else destination_for(call)
        )
        if isinstance(destinations, str):
            destinations = [destinations]
        vias, policy = [], None
        for destination in destinations:
            result = reach(origin, destination, self.network(account))
            if not result.reachable:
                return Verdict("unreachable", result.reason, result.via), None
            vias.append(result.via)
            policy = policy or result.endpoint_policy
        return Verdict("allowed", via="; ".join(dict.fromkeys(vias))), policy

    def evaluate_call(self, principal: str, origin: Origin, account: str, call: Call,
                      context: dict[str, Any] | None = None) -> Verdict:  # fmt: skip
        from mlops.rehearsal.catalogue import check_action
        from mlops.rehearsal.evaluator import evaluate

        if not call.network_only:
            try:
                check_action(call.action)
            except ValueError as exc:
                return Verdict("invalid", str(exc))
        known = principal.startswith("service:") or principal.endswith(":root")
        if not known and not self.estate.has_principal(principal):
            return Verdict(
                "invalid",
                f"principal {principal} does not exist: no program creates it and it is not "
                "a landing-zone prerequisite",
            )
        # an attack is judged on permissions: that the target may not exist yet does not help
        missing = self.missing(call) if call.expect == "allow" else None
        if missing:
            return Verdict("invalid", missing)
        # iam:PassRole is authorised inside the call that passes the role: no request of its own
        authorisation_only = call.action.lower() == "iam:passrole"
        network, endpoint_policy = (
            (Verdict("allowed", via="checked within the passing call"), None)
            if authorisation_only
            else self.check_network(origin, account, call)
        )
        if network.outcome != "allowed" or call.network_only:
            return network
        merged = {**(context or {}), **call.context}
        request = self.estate.request(
            principal, call.action, call.resource, merged, endpoint_policy
        )
        decision = evaluate(request)
        if not decision.allowed:
            return Verdict("denied", decision.reason, network.via)
        for implied in self.implied_calls(principal, call, merged):
            sub = evaluate(self.estate.request(principal, implied.action, implied.resource,
                                               dict(implied.context)))  # fmt: skip
            if not sub.allowed:
                return Verdict("denied", f"{implied.why}: {sub.reason}", network.via)
        return Verdict("allowed", decision.reason, network.via)

    # --- existence -----------------------------------------------------------------------------
    @cached_property
    def object_writers(self) -> list[str]:
        """S3 object ARNs some program or declared step writes (the readers' preconditions)."""
        from mlops import backends
        from mlops.rehearsal.training import pipeline_actors

        writers: list[str] = []
        for run in self.estate.runs.runs.values():
            if run.backend_url.startswith("s3://"):  # Pulumi writes the state it later reads
                bucket = run.backend_url.removeprefix("s3://").split("?", 1)[0]
                writers.append(f"arn:aws:s3:::{bucket}/.pulumi/meta.yaml")
                key = backends.state_object_key(run.project, run.stack)
                writers.append(f"arn:aws:s3:::{bucket}/{key}")
            for r in run.resources:
                if r.type.startswith("aws:s3/bucketObject"):
                    writers.append(f"arn:aws:s3:::{r.inputs.get('bucket')}/{r.inputs.get('key')}")
            for actor in run.actors:
                writers += [c.resource for c in actor.calls if c.action == "s3:PutObject"]
        try:
            actors = pipeline_actors(self.estate)
        except (LookupError, RuntimeError):
            actors = []
        for actor in actors:
            writers += [c.resource for c in actor.calls if c.action == "s3:PutObject"]
        return writers

    def _written(self, obj: str) -> bool:
        import fnmatch
        import posixpath

        # a read of a whole prefix (`<prefix>/object`, training._object_in) needs an object under it
        prefix = obj.removesuffix("/object") + "/" if obj.endswith("/object") else None
        for w in self.object_writers:
            if w == obj or fnmatch.fnmatchcase(obj, w):
                return True
            if prefix and w.startswith(prefix):
                return True
            if posixpath.dirname(w) == posixpath.dirname(obj):
                return True
        return False

    def missing(self, call: Call) -> str | None:
        """Why the call's resource cannot exist when the call is made (None: it can)."""
        from mlops.rehearsal.estate import parse_arn

        arn = call.resource
        if call.network_only or "*" in arn:
            return None
        if arn.startswith("arn:aws:s3:::"):
            name, _, key = arn.removeprefix("arn:aws:s3:::").partition("/")
            if name not in self.estate.buckets:
                return f"bucket {name} does not exist: no program of the estate creates it"
            reads = call.action.lower() in ("s3:getobject", "s3:getobjectversion")
            if key and reads and not self._written(arn):
                return f"nothing writes s3://{name}/{key} before it is read"
            return None
        parts = parse_arn(arn)
        if parts is None:
            return None
        if parts["service"] == "ecr" and parts["rest"].startswith("repository/"):
            repo = parts["rest"].removeprefix("repository/")
            if not self._created("aws:ecr/repository:Repository", repo, parts["account"]):
                return (
                    f"ECR repository {repo} does not exist in account {parts['account']}: no "
                    "program creates it (and nothing pushes the image)"
                )
        is_role = parts["service"] == "iam" and parts["rest"].startswith("role/")
        creates = call.action.lower().startswith(("iam:create", "iam:getrole"))
        if is_role and not creates and not self.estate.has_principal(arn):
            return f"role {arn} does not exist: no program creates it"
        return None

    def _created(self, typ: str, name: str, account: str) -> bool:
        for run in self.estate.runs.runs.values():
            if run.account != account:
                continue
            for r in run.resources:
                if r.type == typ and name in (r.inputs.get("name"), r.state.get("name")):
                    return True
        return False

    def implied_calls(self, principal: str, call: Call, context: dict[str, Any]) -> list[Call]:
        """Calls AWS makes as the caller because of this call (S3 → KMS for SSE-KMS buckets)."""
        action = call.action.lower()
        if principal.startswith("service:"):
            return []  # services that encrypt (CloudTrail) call KMS themselves, declared as such
        bucket = self.estate.bucket_of(call.resource)
        if (
            bucket is None
            or not bucket.kms_key
            or "/" not in call.resource.removeprefix("arn:aws:s3:::")
        ):
            return []
        key = self.estate.key(bucket.kms_key)
        key_arn = key.arn if key else bucket.kms_key
        encryption_context = bucket.arn if bucket.bucket_key else call.resource
        region = self.estate.program(bucket.program).region  # S3 calls KMS in its own region
        base = {
            "kms:ViaService": f"s3.{region}.amazonaws.com",
            "kms:CallerAccount": self._account_of(principal),
            "kms:EncryptionContext:aws:s3:arn": encryption_context,
            "kms:EncryptionContextKeys": ["aws:s3:arn"],
            "aws:ViaAWSService": True,
        }
        if action in ("s3:putobject", "s3:createmultipartupload", "s3:uploadpart"):
            return [Call("kms:GenerateDataKey", key_arn, base,
                         why=f"S3 encrypts the object with {key_arn} as the caller")]  # fmt: skip
        if action in ("s3:getobject", "s3:getobjectversion"):
            return [Call("kms:Decrypt", key_arn, base,
                         why=f"S3 decrypts the object with {key_arn} as the caller")]  # fmt: skip
        return []

    def _account_of(self, principal: str) -> str:
        if principal.startswith("service:"):
            return ""
        return principal.split(":")[4]

    # --- actors ----------------------------------------------------------------------------------
    def run_actor(self, scenario: str, actor: Actor) -> list[StepResult]:
        results = []
        for call in actor.calls:
            verdict = self.evaluate_call(
                actor.principal, actor.origin, actor.account, call, dict(actor.context)
            )
            results.append(
                StepResult(
                    scenario=scenario,
                    program=actor.program,
                    step=actor.step,
                    principal=actor.principal,
                    action=call.action,
                    resource=call.resource,
                    expect=call.expect,
                    verdict=verdict,
                    source=actor.source,
                    why=call.why,
                )
            )
        return results
