"""`pulumi up` of a program as its deployer, step by step, as AWS and the Pulumi engine see it.

For each program (bootstrap, then the platform for dev, staging, prod; or one stage's inference
program in the promotion flow):
1. state: the deployer logs in to the program's backend and reads and writes the stack's state;
   every StackReference is read from that same backend (a self-managed backend cannot read
   another backend's stacks);
2. for every resource, in registration order: the provider's create calls as the deployer, the
   calls AWS services make because of it (`provider_calls.service_call_records`, when="create"),
   the account settings it relies on (`prerequisites`), and every principal its policies name
   existing before the policy is applied: created by an earlier program, by a resource this one
   depends on, or by the landing zone — otherwise AWS answers "invalid principal".
"""

from __future__ import annotations

from collections.abc import Iterable

from mlops import backends
from mlops.config import PROJECT
from mlops.rehearsal.estate import Estate, account_of_arn, landing_zone_deployer
from mlops.rehearsal.model import AWS_SERVICE, PUBLIC, Call, Origin
from mlops.rehearsal.programs import ProgramRun
from mlops.rehearsal.runner import Runner, ScenarioResult, StepResult, Verdict
from mlops.testing.mocks import RecordedResource

SCENARIO = "platform-up"


def _short_type(typ: str) -> str:
    return typ.rsplit(":", 1)[-1]


def _step(scenario: str, run: ProgramRun, step: str, principal: str, call: Call,
          verdict: Verdict, source: str = "") -> StepResult:  # fmt: skip
    return StepResult(
        scenario=scenario,
        program=run.name,
        step=step,
        principal=principal,
        action=call.action,
        resource=call.resource,
        expect=call.expect,
        verdict=verdict,
        source=source,
        why=call.why,
    )


# --- state backend and references ------------------------------------------------------------
def _state_bucket(url: str) -> str | None:
    if not url.startswith("s3://"):
        return None
    return url.removeprefix("s3://").split("?", 1)[0]


def _secrets_key(runner: Runner, run: ProgramRun) -> tuple[str, list[str], Verdict | None]:
    """The secrets key of `run`'s stack (every stack in the shared backend uses the state
    account's, mlops/backends.py) as a key ARN with its aliases, or why it does not exist."""
    cfg = runner.estate.runs.configs[run.stack]
    alias = backends.secrets_key_alias_arn(cfg)
    key = runner.estate.key(alias)
    if key is None:
        why = f"secrets key {alias} does not exist: no bootstrap creates it"
        return alias, [], Verdict("invalid", why)
    return key.arn, list(key.aliases), None


def _secrets_call(runner: Runner, run: ProgramRun, deployer: str, origin: Origin, account: str,
                  why: str) -> tuple[Call, Verdict]:  # fmt: skip
    key, aliases, missing = _secrets_key(runner, run)
    # AWS sets kms:ResourceAliases from the key's aliases (policies may scope by alias)
    call = Call("kms:Decrypt", key, {"kms:ResourceAliases": aliases}, why=why)
    return call, missing or runner.evaluate_call(deployer, origin, account, call)


def state_steps(runner: Runner, run: ProgramRun, deployer: str, origin: Origin, account: str,
                scenario: str) -> list[StepResult]:  # fmt: skip
    """Log in, read and write the stack's own state, open its secrets manager; read every
    StackReference (same backend, the referenced checkpoint, and the referenced stack's secrets
    key: the engine opens its secrets manager even for plain outputs, pulumi/pulumi#11109); and,
    as attacks, overwrite a stack that is not the deployer's own."""
    estate = runner.estate
    results: list[StepResult] = []
    bucket = _state_bucket(run.backend_url)

    def add(step: str, call: Call, verdict: Verdict) -> None:
        results.append(_step(scenario, run, step, deployer, call, verdict, "mlops/backends.py"))

    if bucket is not None:
        prefix = f"arn:aws:s3:::{bucket}"
        own = f"{prefix}/{backends.state_object_key(run.project, run.stack)}"
        for call in (
            Call("s3:ListBucket", prefix, why=f"pulumi login {run.backend_url}"),
            Call("s3:GetObject", f"{prefix}/{backends.META_KEY}", why="backend layout"),
            Call("s3:PutObject", own, why=f"write the state of {run.fqn}"),
            Call("s3:GetObject", own, why=f"read the state of {run.fqn}"),
        ):
            add(
                f"{run.name}: state backend",
                call,
                _state_call(runner, deployer, origin, account, call),
            )
        add(f"{run.name}: state backend",
            *_secrets_call(runner, run, deployer, origin, account,
                           f"open the secrets manager of {run.fqn} (awskms data key)"))  # fmt: skip
        cfg = estate.runs.configs[run.stack]
        # the state account's administrator owns the bucket: everyone else is held to its stack
        owner_admin = run.project == PROJECT and run.account == backends.state_account(cfg)
        for other in () if owner_admin else estate.runs.runs.values():
            # a deployer must not be able to overwrite another stack's state in the shared bucket
            if other.backend_url != run.backend_url or other.name == run.name:
                continue
            # (one use case's stages too: each stage's deploy build writes only its own stack)
            target = f"{prefix}/{backends.state_object_key(other.project, other.stack)}"
            call = Call("s3:PutObject", target, expect="deny",
                        why=f"{run.name}'s deployer overwrites {other.fqn}'s state")  # fmt: skip
            add(f"{run.name}: state backend, another stack's state", call,
                _state_call(runner, deployer, origin, account, call))  # fmt: skip
    for ref in run.references:
        call = Call("pulumi:StackReference", ref.name, why=f"read {ref.name}'s outputs")
        owner = estate.runs.runs.get(ref.resolved_from or "")
        step = f"{run.name}: StackReference {ref.name}"
        if owner is None:
            add(
                step,
                call,
                Verdict("invalid", f"{ref.name}: no program of the estate is that stack"),
            )
            continue
        if owner.backend_url != run.backend_url:
            add(step, call, Verdict(
                "denied",
                f"{ref.name}'s state is in {owner.backend_url}, but {run.name} runs against "
                f"{run.backend_url}: a self-managed backend cannot read another backend's "
                "stacks, so the reference does not resolve",
            ))  # fmt: skip
            continue
        target = f"arn:aws:s3:::{bucket}/{backends.state_object_key(owner.project, owner.stack)}"
        read = Call("s3:GetObject", target, why=f"read {ref.name}'s checkpoint")
        add(step, read, _state_call(runner, deployer, origin, account, read))
        why = f"open the secrets manager of {ref.name} (its awskms data key)"
        add(step, *_secrets_call(runner, owner, deployer, origin, account, why))
    return results


def _state_call(runner: Runner, deployer: str, origin: Origin, account: str, call: Call) -> Verdict:
    """State reads/writes: the bucket must exist (bootstrap) and admit the deployer; objects of
    the state are written by Pulumi itself, so only the bucket's existence is a precondition."""
    bucket = call.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    if bucket not in runner.estate.buckets:
        return Verdict("invalid", f"state bucket {bucket} does not exist: no bootstrap creates it")
    return runner.evaluate_call(deployer, origin, account, call)


# --- resources -----------------------------------------------------------------------------------
def _depends_on(run: ProgramRun, resource: RecordedResource, target_urn: str) -> bool:
    """Whether `resource` (transitively) depends on `target_urn` in the engine's graph."""
    by_urn = {r.urn: r for r in run.resources}
    seen: set[str] = set()
    stack = [resource.urn]
    while stack:
        urn = stack.pop()
        if urn in seen:
            continue
        seen.add(urn)
        node = by_urn.get(urn)
        if node is None:
            continue
        deps: set[str] = set(getattr(node, "dependencies", ()) or ())
        for values in (getattr(node, "property_dependencies", {}) or {}).values():
            deps |= set(values)
        if target_urn in deps:
            return True
        stack += list(deps)
    return False


def _creator(estate: Estate, arn: str) -> tuple[ProgramRun, RecordedResource] | None:
    program = estate.created_by.get(arn)
    if program is None:
        return None
    run = estate.program(program)
    for r in run.resources:
        if r.state.get("arn") == arn or (
            r.type == "aws:iam/role:Role" and arn.endswith(f"/{r.inputs.get('name')}")
        ):
            return run, r
    return None


def principal_exists_before(
    estate: Estate, run: ProgramRun, resource: RecordedResource, principal: str
) -> Verdict:
    if principal in ("*",) or principal.endswith(":root") or principal.isdigit():
        return Verdict("allowed", "account principal")
    if principal.endswith(".amazonaws.com") or not principal.startswith("arn:"):
        return Verdict("allowed", "service or federated principal")
    if principal in estate.prerequisites:
        return Verdict("allowed", estate.prerequisites[principal])
    found = _creator(estate, principal)
    if found is None:
        return Verdict(
            "denied",
            f"{resource.name}'s policy names {principal}, which no program creates (and it is "
            "not a landing-zone prerequisite): AWS rejects it as an invalid principal",
        )
    creator_run, creator = found
    order = list(estate.runs.runs)
    if creator_run.name != run.name:
        if order.index(creator_run.name) < order.index(run.name):
            return Verdict("allowed", f"created earlier by {creator_run.name}")
        return Verdict(
            "denied",
            f"{resource.name}'s policy names {principal}, created by {creator_run.name}, which "
            f"deploys after {run.name}: the first `pulumi up` fails with an invalid principal",
        )
    if _depends_on(run, resource, creator.urn):
        return Verdict("allowed", f"depends on {creator.name}")
    return Verdict(
        "denied",
        f"{resource.name}'s policy names {principal} as a string, without depending on "
        f"{creator.name} which creates it in the same program: the engine may apply the policy "
        "first and AWS rejects the invalid principal (use the role's ARN output)",
    )


def resource_steps(runner: Runner, run: ProgramRun, deployer: str, origin: Origin, account: str,
                   scenario: str) -> list[StepResult]:  # fmt: skip
    from mlops.rehearsal import provider_calls as pc

    view = pc.ProgramView(
        account=run.account,
        region=run.region,
        resources=run.resources,
        account_settings=deployed_before(runner.estate, run),
    )
    results: list[StepResult] = []
    for r in run.custom_resources():
        results += steps_for_resource(runner, run, r, view, deployer, origin, account, scenario)
    return results


def deployed_before(estate: Estate, run: ProgramRun) -> list[tuple[str, RecordedResource]]:
    """What the programs deployed before `run` into the same account and region recorded."""
    out: list[tuple[str, RecordedResource]] = []
    for other in estate.runs.runs.values():
        if other.name == run.name:
            break
        if (other.account, other.region) == (run.account, run.region):
            out += [(other.name, r) for r in other.custom_resources()]
    return out


def steps_for_resource(runner: Runner, run: ProgramRun, r: RecordedResource, view: object,
                       deployer: str, origin: Origin, account: str,
                       scenario: str) -> list[StepResult]:  # fmt: skip
    """Creating one resource: the deployer's calls, the services' calls, the account settings it
    needs, and every principal its policies name existing already."""
    from mlops.rehearsal import provider_calls as pc

    estate = runner.estate
    if r.import_id:
        # Adopted (pulumi `import_`): the provider only reads the existing resource; properties
        # that differ from the declaration make Pulumi refuse the import at preview, before any
        # AWS call, and the ones in ignore_changes keep the existing values. Nothing is created,
        # passed or named, so only the adoption itself is a step.
        step = f"{run.name}: import {_short_type(r.type)} {r.name}"
        call = Call("provider:import", r.import_id, why="adopt the existing resource")
        verdict = Verdict(
            "allowed",
            f"adopts the existing {_short_type(r.type)} {r.import_id} (landing zone: adopt); "
            "the deployer reads it",
        )
        return [_step(scenario, run, step, deployer, call, verdict)]
    step = f"{run.name}: create {_short_type(r.type)} {r.name}"
    results: list[StepResult] = []
    try:
        calls = pc.create_calls(r, view)
        service = pc.service_call_records(r, view, when="create")
        prereqs = pc.prerequisites(r, view)
        named = pc.named_principals(r)
    except pc.UnknownResourceType as exc:
        call = Call("provider:create", r.type)
        return [_step(scenario, run, step, deployer, call, Verdict("invalid", str(exc)))]
    for call in calls:
        verdict = runner.evaluate_call(deployer, origin, account, call)
        results.append(_step(scenario, run, step, deployer, call, verdict))
    for record in service:
        principal = deployer if record.principal == pc.CALLER else record.principal
        where = origin if record.principal == pc.CALLER else AWS_SERVICE
        verdict = runner.evaluate_call(principal, where, account, record.call)
        results.append(_step(scenario, run, step, principal, record.call, verdict))
    for prereq in prereqs:
        verdict = (
            Verdict("allowed", prereq.detail)
            if prereq.satisfied
            else Verdict("invalid", f"{prereq.what}: {prereq.detail}")
        )
        call = Call("account:prerequisite", prereq.what, why=prereq.detail)
        results.append(_step(scenario, run, step, deployer, call, verdict))
    for principal in named:
        verdict = principal_exists_before(estate, run, r, principal)
        call = Call("iam:ValidatePrincipal", principal, why="a policy names it")
        results.append(_step(scenario, run, step, deployer, call, verdict))
    return results


def program_steps(
    runner: Runner,
    run: ProgramRun,
    deployer: str,
    origin: Origin,
    account: str,
    scenario: str,
    state_principal: str | None = None,
) -> list[StepResult]:
    """`state_principal`: who logs in to the backend (the deploy build's own role, when the AWS
    provider assumes a deployer for the resources); default the deployer."""
    return [
        *state_steps(runner, run, state_principal or deployer, origin, account, scenario),
        *resource_steps(runner, run, deployer, origin, account, scenario),
    ]


def deploy_steps(
    runner: Runner,
    program: str,
    deployer: str,
    origin: Origin,
    account: str,
    scenario: str,
    state_principal: str | None = None,
) -> list[StepResult]:
    """One stage's inference program deployed by its deployer from the deploy build's origin."""
    run = runner.estate.program(program)
    return program_steps(runner, run, deployer, origin, account, scenario, state_principal)


def platform_programs(estate: Estate) -> Iterable[ProgramRun]:
    for run in estate.runs.runs.values():
        if run.name.startswith(("bootstrap/", "platform/")):
            yield run


def run_platform_up(runner: Runner):
    result = ScenarioResult(SCENARIO)
    for run in platform_programs(runner.estate):
        deployer = landing_zone_deployer(run, runner.estate)
        account = account_of_arn(deployer) or run.account
        result.steps += program_steps(runner, run, deployer, PUBLIC, account, SCENARIO)
    return result
