"""The scenarios of `mlops rehearse`: ordered steps across the estate, and the attacks.

Declared flows (onboarding, training, promotion, decision, analytics, audit, attacks) come from
the actors the components declared (`mlops.rehearsal.declare`), ordered by program (deployment
order) and by each actor's `order`. Steps that join two programs are added here, where both are
known: the deployer's `pulumi up` of each stage's inference program and the smoke test's signed
request (promotion), and what a model package holds (the endpoint loading it, decision).
`platform-up` is derived from the recorded resources themselves (`provider_calls`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from mlops.naming import NameContext
from mlops.rehearsal.estate import Estate
from mlops.rehearsal.model import AWS_SERVICE, PUBLIC, Actor, Call
from mlops.rehearsal.runner import ExpectedFailure, Runner, ScenarioResult, StepResult, Verdict

DECLARED = ("onboarding", "training", "promotion", "decision", "analytics", "audit", "attacks")
SCENARIOS = ("platform-up", *DECLARED)
EXPECTED_FILE = Path(__file__).with_name("expected.yaml")


# --- expected failures ---------------------------------------------------------------------------
def load_expected(path: Path = EXPECTED_FILE) -> list[ExpectedFailure]:
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    out = []
    for i, entry in enumerate(entries):
        missing = {"match", "issue", "why"} - set(entry)
        if missing:
            raise ValueError(f"{path.name} entry {i + 1}: missing {sorted(missing)}")
        unknown = set(entry) - {"match", "issue", "why", "reason"}
        if unknown:
            raise ValueError(f"{path.name} entry {i + 1}: unknown keys {sorted(unknown)}")
        out.append(
            ExpectedFailure(
                id=entry["match"],
                issue=entry["issue"],
                why=entry["why"],
                reason=entry.get("reason", "*"),
            )
        )
    return out


def apply_expected(
    results: Iterable[ScenarioResult], expected: Sequence[ExpectedFailure]
) -> list[ExpectedFailure]:
    """Mark steps matched by an expected entry; return the entries that matched no step."""
    used: set[str] = set()
    for result in results:
        for step in result.steps:
            if step.ok:  # an entry describes a failure; one matching no failing step is stale
                continue
            key = f"{result.name} | {step.id}"
            for entry in expected:
                if fnmatch.fnmatchcase(key, entry.id) and fnmatch.fnmatchcase(
                    step.verdict.reason, entry.reason
                ):
                    step.expected_failure = entry
                    used.add(entry.id + "\0" + entry.reason)
                    break
    return [e for e in expected if e.id + "\0" + e.reason not in used]


# --- declared flows ------------------------------------------------------------------------------
def _of_peer(actor: Actor) -> bool:
    from mlops.rehearsal.programs import PEER

    return f"-{PEER}-" in actor.principal or any(f"-{PEER}-" in c.resource for c in actor.calls)


def declared_actors(estate: Estate, flow: str) -> list[Actor]:
    """The flow's actors of the rehearsed use case (the peer use case only takes part in the
    attacks, where it is the target of cross-use-case reads and writes)."""
    order = {name: i for i, name in enumerate(estate.runs.runs)}
    actors = [
        a
        for run in estate.runs.runs.values()
        for a in run.actors
        if a.flow == flow and (flow == "attacks" or not _of_peer(a))
    ]
    if flow == "attacks":
        actors += isolation_attacks(estate)
        actors += approver_attacks(estate)
    return sorted(actors, key=lambda a: (order.get(a.program, 99), a.order))


def isolation_attacks(estate: Estate) -> list[Actor]:
    """One use case's builds reading or overwriting another use case's artifacts in the shared
    buckets (pipeline artifacts, training code, model artifacts, registered models)."""
    from mlops.components.usecase_builds import artifact_key
    from mlops.naming import NameContext, usecase_name
    from mlops.rehearsal.programs import PEER

    cfg = estate.runs.configs["dev"]
    ctx = NameContext("dev", cfg.accounts.dev, cfg.region)
    me, peer = estate.runs.usecase, PEER
    buckets = {b.split(f"-{cfg.accounts.dev}-")[0]: b for b in estate.buckets}
    shared = [buckets.get("mlops-dev-pipeline-artifacts"), buckets.get("mlops-dev-model-artifacts")]
    targets = [
        f"arn:aws:s3:::{shared[0]}/"
        + artifact_key(usecase_name(ctx, peer, "build"), "training_source"),
        f"arn:aws:s3:::{shared[0]}/{peer}/code/source.tar.gz",
        f"arn:aws:s3:::{shared[1]}/{peer}/model.tar.gz",
    ]
    actors = []
    for role in ("build", "deploy-build", "deploy-build-staging", "deploy-build-prod"):
        principal = f"arn:aws:iam::{cfg.accounts.dev}:role/{usecase_name(ctx, me, role)}"
        if principal not in estate.principals:
            continue
        calls = []
        for target in targets:
            bucket = estate.bucket_of(target)
            sse = {  # a careful attacker sends the headers the bucket policy asks for
                "s3:x-amz-server-side-encryption": "aws:kms",
                "s3:x-amz-server-side-encryption-aws-kms-key-id": bucket.kms_key if bucket else "",
            }
            calls.append(Call("s3:GetObject", target, expect="deny", why=f"read {peer}'s artifact"))
            calls.append(
                Call("s3:PutObject", target, sse, expect="deny", why=f"overwrite {peer}'s artifact")
            )
        actors.append(
            Actor(
                flow="attacks",
                step=f"the {me} {role} role reaches another use case's artifacts",
                principal=principal,
                account=cfg.accounts.dev,
                origin=AWS_SERVICE,
                calls=tuple(calls),
                order=950,
                source="mlops/rehearsal/scenarios.py (cross-use-case join)",
                program="platform/dev",
            )
        )
    actors += _key_context_attacks(estate, ctx, me, peer, shared)
    return actors


KEY_CONTEXT_ROLES = (
    "build",
    "sm-pipeline",
    "deploy-build",
    "deploy-build-staging",
    "deploy-build-prod",
)
"""The other use case's roles that hold the artifacts key (`ArtifactKeyOwnObjects`)."""


def _key_context_attacks(
    estate: Estate, ctx: NameContext, me: str, peer: str, shared: list[str | None]
) -> list[Actor]:
    """The other use case's roles, which may use the artifacts key for their own objects, ask KMS
    for what S3 would ask it on their behalf had an S3 grant slipped (a GetObject or PutObject of
    one of `me`'s objects): the shared buckets have no bucket key, so the encryption context is
    the object's ARN, and the roles' key statements name only their own prefixes."""
    from mlops.naming import usecase_name

    region = estate.runs.configs["dev"].region
    targets = [
        f"arn:aws:s3:::{shared[0]}/{me}/code/source.tar.gz",
        f"arn:aws:s3:::{shared[1]}/{me}/models/execution/model.tar.gz",
    ]
    actors = []
    for role in KEY_CONTEXT_ROLES:
        principal = f"arn:aws:iam::{ctx.account_id}:role/{usecase_name(ctx, peer, role)}"
        if principal not in estate.principals:
            continue
        calls = []
        for target in targets:
            bucket = estate.bucket_of(target)
            key = estate.key(bucket.kms_key) if bucket and bucket.kms_key else None
            if key is None:
                continue
            context = {
                "kms:ViaService": f"s3.{region}.amazonaws.com",
                "kms:CallerAccount": ctx.account_id,
                "kms:EncryptionContext:aws:s3:arn": target,
                "aws:ViaAWSService": True,
            }
            for action, verb in (("kms:Decrypt", "read"), ("kms:GenerateDataKey", "overwrite")):
                calls.append(Call(action, key.arn, context, expect="deny",
                                  why=f"{verb} {me}'s object (as S3 would ask KMS)"))  # fmt: skip
        actors.append(
            Actor(
                flow="attacks",
                step=f"the {peer} {role} role uses the artifacts key for {me}'s objects",
                principal=principal,
                account=ctx.account_id,
                origin=AWS_SERVICE,
                calls=tuple(calls),
                order=951,
                source="mlops/rehearsal/scenarios.py (per-use-case KMS context)",
                program="platform/dev",
            )
        )
    return actors


def approver_attacks(estate: Estate) -> list[Actor]:
    """One use case's approver role (held by its leads) passing another use case's gates or
    approving its model packages."""
    from mlops.components.approvers import APPROVAL_ACTION, GATES, approver_role_arn
    from mlops.naming import NameContext, model_package_group_name, usecase_name
    from mlops.rehearsal.programs import PEER

    cfg = estate.runs.configs["dev"]
    ctx = NameContext("dev", cfg.accounts.dev, cfg.region)
    me, peer = estate.runs.usecase, PEER
    principal = approver_role_arn(ctx, me)
    if principal not in estate.principals:
        return []
    pipeline = f"arn:aws:codepipeline:{cfg.region}:{cfg.accounts.dev}:" + usecase_name(
        ctx, peer, "deploy"
    )
    group = model_package_group_name(ctx, peer)
    package = f"arn:aws:sagemaker:{cfg.region}:{cfg.accounts.dev}:model-package/{group}/1"
    calls = [
        *[
            Call(
                "codepipeline:PutApprovalResult",
                f"{pipeline}/{gate}/{APPROVAL_ACTION}",
                expect="deny",
                why=f"pass {peer}'s {gate} gate",
            )
            for gate in GATES
        ],
        Call(
            "sagemaker:UpdateModelPackage",
            package,
            {"sagemaker:ModelApprovalStatus": "Approved"},
            expect="deny",
            why=f"approve {peer}'s model package",
        ),
    ]
    return [
        Actor(
            flow="attacks",
            step=f"the {me} approver role approves another use case",
            principal=principal,
            account=cfg.accounts.dev,
            origin=PUBLIC,
            calls=tuple(calls),
            order=955,
            source="mlops/rehearsal/scenarios.py (cross-use-case join)",
            program="platform/dev",
        )
    ]


def package_contract(estate: Estate) -> dict[str, str]:
    """What the promoted model package holds: its model data object and its image repository,
    as the training side writes them (`training.package_contract`)."""
    from mlops.rehearsal.training import package_contract as contract

    return contract(estate)


def resolve_placeholders(actor: Actor, contract: dict[str, str]) -> Actor:
    calls = []
    for call in actor.calls:
        if call.resource.startswith("package:"):
            key = call.resource.removeprefix("package:")
            call = replace(call, resource=contract.get(key, call.resource))
        calls.append(call)
    return replace(actor, calls=tuple(calls))


def run_declared(runner: Runner, flow: str) -> ScenarioResult:
    result = ScenarioResult(flow)
    contract: dict[str, str] | None = None
    for actor in declared_actors(runner.estate, flow):
        if any(c.resource.startswith("package:") for c in actor.calls):
            contract = contract if contract is not None else package_contract(runner.estate)
            actor = resolve_placeholders(actor, contract)
        result.steps += runner.run_actor(flow, actor)
        if flow == "promotion":
            result.steps += _promotion_joins(runner, actor)
    if flow == "training":
        from mlops.rehearsal.training import pipeline_actors

        for actor in pipeline_actors(runner.estate):
            result.steps += runner.run_actor(flow, actor)
    return result


def _promotion_joins(runner: Runner, actor: Actor) -> list[StepResult]:
    """After a stage's deploy build: the deployer's `pulumi up`; after its smoke-test build: the
    signed request to the stage's decision API."""
    from mlops.components.usecase_roles import deployer_role_arn
    from mlops.config import ENVIRONMENTS

    estate = runner.estate
    cfg = estate.runs.configs["dev"]
    for env in ENVIRONMENTS:  # the use case's stages (other stack files are not stages)
        title = env.capitalize()
        deployer = deployer_role_arn(cfg, estate.runs.usecase, env)
        program = f"{estate.runs.usecase}-inference/{env}"
        if program not in estate.runs.runs:
            continue
        if actor.step == f"Deploy{title} build":
            from mlops.rehearsal.platform_up import deploy_steps

            return [
                *_secrets_steps(runner, actor, env),
                *deploy_steps(runner, program, deployer, actor.origin, actor.account,
                              scenario="promotion", state_principal=actor.principal),
            ]  # fmt: skip
        if actor.step == f"SmokeTest{title} build":
            return _smoke_steps(runner, program, deployer, actor, env)
    return []


def _secrets_steps(runner: Runner, build: Actor, env: str) -> list[StepResult]:
    """`pulumi stack select --create --secrets-provider awskms://...`: the deploy build (its own
    role, before it assumes the deployer) encrypts and decrypts the stack's secrets with the
    bootstrap's secrets key of the backend's account."""
    from mlops.delivery.deployer import inference_secrets_alias

    estate = runner.estate
    alias = inference_secrets_alias(estate.runs.configs["dev"])
    key_arn = str(estate.program("bootstrap/dev").exports.get("secrets_key_arn", ""))
    results = []
    for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"):
        call = Call(action, key_arn, {"kms:ResourceAliases": [alias]},
                    why=f"the {env} stack's secrets ({alias})")  # fmt: skip
        verdict = runner.evaluate_call(build.principal, build.origin, build.account, call)
        step = f"deploy {env}: the stack's secrets provider"
        results.append(
            StepResult("promotion", build.program, step, build.principal, action, key_arn,
                       "allow", verdict, "mlops/delivery/buildspecs.py", call.why)
        )  # fmt: skip
    return results


def _smoke_steps(
    runner: Runner, program: str, deployer: str, build: Actor, env: str
) -> list[StepResult]:
    run = runner.estate.program(program)
    apis = [r for r in run.resources if r.type == "aws:apigateway/restApi:RestApi"]
    results: list[StepResult] = []
    step = f"smoke test {env}: signed request to the decision API"
    for api in apis:
        api_id = api.state.get("id")
        arn = f"arn:aws:execute-api:{run.region}:{run.account}:{api_id}/v1/POST/v1/decisions"
        call = Call("execute-api:Invoke", arn, destination="execute-api", why="POST /v1/decisions")
        verdict = runner.evaluate_call(deployer, build.origin, build.account, call)
        results.append(
            StepResult(
                "promotion",
                build.program,
                step,
                deployer,
                call.action,
                arn,
                "allow",
                verdict,
                build.source,
                call.why,
            )
        )
    from mlops.rehearsal.contracts import smoke_contract

    verdict = smoke_contract(run)
    results.append(
        StepResult(
            "promotion",
            build.program,
            f"smoke test {env}: the answer's contract",
            deployer,
            "contract",
            "smoke test vs decision response schema",
            "allow",
            verdict,
            "mlops/delivery/deploy.py",
        )
    )
    return results


# --- all -----------------------------------------------------------------------------------------
def run_scenarios(
    estate: Estate, names: Sequence[str] | None = None, progress: Any = None
) -> tuple[list[ScenarioResult], list[ExpectedFailure]]:
    """Run the named scenarios (default: all); returns results and unused expected entries
    (only meaningful when every scenario ran)."""
    names = list(names or SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r}; use one of {', '.join(SCENARIOS)}")
    runner = Runner(estate)
    results = []
    for name in names:
        if progress is not None:
            progress(name)
        if name == "platform-up":
            from mlops.rehearsal.platform_up import run_platform_up

            results.append(run_platform_up(runner))
        else:
            results.append(run_declared(runner, name))
    expected = load_expected()
    unused = apply_expected(results, expected)
    if set(names) != set(SCENARIOS):
        unused = []
    return results, unused


def verdict_of(results: Sequence[ScenarioResult]) -> Verdict:
    failed = [s for r in results for s in r.failed + r.stale]
    if failed:
        return Verdict("denied", f"{len(failed)} step(s) failed")
    return Verdict("allowed")
