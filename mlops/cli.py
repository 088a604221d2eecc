"""The `mlops` command line. Commands are thin: logic lives in the library modules.

Heavy imports happen inside each command so `mlops --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mlops import console
from mlops.errors import MlopsError, UsageError
from mlops.local import cli as local_cli

app = typer.Typer(
    name="mlops",
    help="MLOps platform for AWS SageMaker: preview, check, onboard, train, demo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_state = {"debug": False}

StackOption = Annotated[
    str, typer.Option("--stack", "-s", help="Stack to use: dev, staging or prod.")
]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


@app.command()
def preview(
    stack: StackOption = "dev",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show what `pulumi up` would create for a stack, offline (the real program under mocks)."""
    from mlops.preview import StackPreview

    if as_json:
        result = StackPreview.build(stack)
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        return
    with console.status(f"building stack {stack} offline under Pulumi mocks"):
        result = StackPreview.build(stack)
    result.render(console.out)


@app.command()
def check(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack to check: dev, staging or prod.")
    ] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Check every stack.")] = False,
    policy_config: Annotated[
        Path | None,
        typer.Option("--policy-config", help="JSON in the format of --policy-pack-config."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules.")] = False,
    lint: Annotated[bool, typer.Option(help="Run cfn-lint and asl-validator too.")] = True,
) -> None:
    """Check stacks against the policy pack offline; exit 1 on any mandatory violation."""
    from mlops.policy.check import run_check_command

    code = run_check_command(stack, all_stacks, policy_config, as_json, list_rules, lint)
    if code:
        raise typer.Exit(code)


@app.command()
def quotas(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack to check: dev, staging or prod.")
    ] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Check every stack.")] = False,
    usecases: Annotated[
        int | None,
        typer.Option(help="Build with this many generated use cases instead of usecases/."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """AWS quotas and naming rules over every resource of a stack, offline; exit 1 on a breach."""
    from mlops.config import ENVIRONMENTS
    from mlops.quotas import check_stack, format_reports

    if not stack and not all_stacks:
        raise MlopsError("give --stack NAME or --all", "e.g. mlops quotas --all --usecases 75")
    stacks = list(ENVIRONMENTS) if all_stacks else [stack or ""]
    reports = []
    for name in stacks:
        with console.status(f"building {name} offline and measuring its quotas"):
            reports.append(check_stack(name, usecases))
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        console.out.print(format_reports(reports), markup=False, highlight=False)
    if any(r.violations for r in reports):
        raise typer.Exit(1)


@app.command()
def rehearse(
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="Scenario to run (repeatable); default: all of them."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    verbose: Annotated[bool, typer.Option("--all-steps", help="List passing steps too.")] = False,
    usecase: Annotated[str, typer.Option("--usecase", help="Use case whose estate to run.")] = (
        "remedy"
    ),
) -> None:
    """Evaluate every runtime flow across the accounts offline (permissions, keys, trust,
    network); exit 1 when a step fails or an attack succeeds."""
    from mlops.rehearsal.commands import run_rehearse_command

    code = run_rehearse_command(scenario, as_json, verbose, usecase)
    if code:
        raise typer.Exit(code)


@app.command()
def cost(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack to estimate: dev, staging or prod.")
    ] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Estimate every stack.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    requests_per_day: Annotated[
        float | None, typer.Option(help="Decision requests per day (default per stack).")
    ] = None,
    payload_kb: Annotated[float | None, typer.Option(help="Payload per request, KB.")] = None,
    endpoint_mode: Annotated[
        str | None, typer.Option(help="Reprice every endpoint as serverless or realtime.")
    ] = None,
) -> None:
    """Estimate a stack's monthly AWS cost offline: its resources x a dated price table."""
    from mlops.cost.report import run_cost_command

    run_cost_command(stack, all_stacks, as_json, requests_per_day, payload_kb, endpoint_mode)


@app.command()
def onboard(
    name: Annotated[str, typer.Argument(help="Use-case name: lower-case, digits, hyphens.")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="Template to render (see `mlops templates`).")
    ],
    answers: Annotated[
        Path | None, typer.Option("--answers", help="YAML file of template answers.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder that receives both repos.")] = Path(),
    usecases_dir: Annotated[
        Path | None, typer.Option("--usecases-dir", help="Where to write <name>.yaml.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing repos and manifest.")
    ] = False,
    lock: Annotated[
        bool,
        typer.Option(
            "--lock",
            help="Run `uv lock` in both repos before their first commit (index: UV_DEFAULT_INDEX,"
            " the platform's package repository); the builds install only the lock.",
        ),
    ] = False,
) -> None:
    """Render a use case's training and inference repos from a template and write its manifest."""
    from mlops.onboarding import onboard_command

    onboard_command(name, template, answers, out, usecases_dir, force, lock=lock)


@app.command()
def update(
    repo: Annotated[
        Path | None, typer.Argument(help="A rendered training or inference repo.")
    ] = None,
    all_repos: Annotated[
        bool, typer.Option("--all", help="Every onboarded repo (from usecases/).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --all: report, change nothing.")
    ] = False,
    repos_dir: Annotated[
        Path, typer.Option("--repos-dir", help="With --all: where the repos are checked out.")
    ] = Path(),
    open_prs: Annotated[
        bool,
        typer.Option(
            "--open-prs",
            help="With --all (CI): clone missing repos from the Git provider, open one pull "
            "request per cleanly updated repo (token: GH_TOKEN or MLOPS_GIT_TOKEN_SECRET).",
        ),
    ] = False,
) -> None:
    """Update rendered repos to their template's current version, keeping local changes."""
    from mlops.onboarding import update_all_command, update_command

    if all_repos == (repo is not None):
        raise UsageError("pass a repo or --all (not both)", "see `mlops update --help`")
    if dry_run and not all_repos:
        raise UsageError("--dry-run goes with --all", "mlops update --all --dry-run")
    if open_prs and (not all_repos or dry_run):
        raise UsageError(
            "--open-prs goes with --all and without --dry-run", "mlops update --all --open-prs"
        )
    if all_repos:
        update_all_command(repos_dir, dry_run, open_prs=open_prs)
    else:
        update_command(repo)


@app.command("templates")
def list_templates(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List use-case templates with description, version and questions."""
    from mlops.onboarding import templates_command

    templates_command(as_json)


@app.command()
def promotions(
    usecase: Annotated[str, typer.Argument(help="Use-case name, e.g. remedy.")],
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Embedded AWS (moto) URL.")
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Local mode: the embedded registry's group.")
    ] = False,
) -> None:
    """What is deployed in dev, staging and prod, who approved it, and each stage's rollbacks
    (from the model registry)."""
    from mlops.delivery.commands import promotions_command

    if local and not endpoint_url:
        raise UsageError("--local needs --endpoint-url", "pass the embedded AWS URL")
    for line in promotions_command(usecase, endpoint_url, local=local):
        typer.echo(line)  # one line per stage, never wrapped (scripts grep it)


@app.command()
def rollback(
    usecase: Annotated[str, typer.Argument(help="Use-case name, e.g. remedy.")],
    stage: Annotated[str, typer.Option("--stage", help="dev, staging or prod.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the registry).")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Model package ARN to deploy (default: the previous one)."),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Embedded AWS (moto) URL.")
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Local mode: the embedded registry, no pipeline.")
    ] = False,
) -> None:
    """Redeploy the previous (or a named) approved package to a stage through the deploy
    pipeline, recording who, when and why in the model registry."""
    from mlops.delivery.commands import rollback_command, rollback_lines

    result = rollback_command(usecase, stage, reason, to, endpoint_url, local=local)
    for line in rollback_lines(result):
        typer.echo(line)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def train(
    ctx: typer.Context,
    usecase: Annotated[str, typer.Argument(help="Use-case name, e.g. remedy.")],
    local: Annotated[
        bool, typer.Option("--local", help="Run on this machine (the only mode offline).")
    ] = False,
    repo: Annotated[
        Path | None, typer.Option("--repo", help="Training repo (default: ./<usecase>-training).")
    ] = None,
) -> None:
    """Run a use case's training pipeline locally; extra options go to its run_local."""
    from mlops.errors import UsageError
    from mlops.training import train_local

    if not local:
        raise UsageError(
            "training in SageMaker starts from the use case's build pipeline",
            "push to the training repo's main branch, or run here with --local",
        )
    train_local(usecase, repo, ctx.args)


# the local demo's commands (they know the demo's use case): mlops/local/cli.py
app.command()(local_cli.demo)
app.command()(local_cli.serve)


@app.command()
def backtest(
    usecase: Annotated[str, typer.Argument(help="Onboarded use case (a manifest in usecases/).")],
    candidate: Annotated[
        str,
        typer.Option(
            "--candidate", help="Candidate model: a bundle directory or a model package ARN."
        ),
    ],
    current: Annotated[
        Path | None,
        typer.Option("--current", help="Current model (default: the local demo's deployed one)."),
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Historical rows: .parquet, .csv or .jsonl.")
    ] = None,
    synthetic: Annotated[
        int | None,
        typer.Option(
            "--synthetic",
            min=100,
            max=2_000_000,
            help="Or N seeded rows from the use case's generator (if its template has one).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --synthetic.")] = 2025,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Candidate rule set (YAML, RuleConfig fields).")
    ] = None,
    current_rules: Annotated[
        Path | None, typer.Option("--current-rules", help="Current rule set (default: defaults).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path(".mlops/backtest"),
    repo: Annotated[
        Path | None, typer.Option("--repo", help="A rendered inference repo (default: template).")
    ] = None,
) -> None:
    """Replay historical (or synthetic) rows through the current and a candidate model and/or
    rule set with the use case's backtest: what changes, what it costs against known outcomes;
    HTML + JSON report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from mlops.backtest import BacktestRequest, run, summary

    request = BacktestRequest(usecase, candidate, current, data, synthetic, seed, rules,
                              current_rules, out, repo)  # fmt: skip
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console.err, transient=True) as bar:  # fmt: skip
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"{stage:>9}", total=total)
            bar.update(tasks[stage], completed=done)

        result, paths = run(request, progress)
    headline, *details = summary(request, result)
    console.success(headline)
    for line in details:
        console.info(line)
    console.success(f"report: {paths['html']} (figures: {paths['json']})")


@app.command()
def offboard(
    usecase: Annotated[
        str | None, typer.Argument(help="The use case to retire (a manifest in usecases/).")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Remove the manifest (default: show the plan only).")
    ] = False,
    check_orphans: Annotated[
        bool,
        typer.Option("--check-orphans", help="Fail if a removed use case's stacks remain."),
    ] = False,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3 endpoint (e.g. the embedded AWS).")
    ] = None,
) -> None:
    """Retire a use case: refused while its inference stacks exist (destroy them, prod first);
    keeps its registry, data and audit; its CI/CD, roles and catalogue entries go with the
    manifest. `--check-orphans` finds stacks whose manifest was removed too early."""
    import boto3

    from mlops import offboard as off

    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    if check_orphans:
        orphans = off.orphaned_stacks(s3)
        if orphans:
            listing = ", ".join(f"{p}/{st} ({n} resources)" for p, st, n in orphans)
            raise off.OffboardRefused(
                f"stacks of use cases with no manifest remain: {listing}",
                "restore the manifest, destroy those stacks (prod first), then remove it again",
            )
        console.success("no inference stack outlives its use case's manifest")
        return
    if usecase is None:
        raise UsageError("name the use case to offboard (or pass --check-orphans)", "see --help")
    with console.status(f"reading {usecase}'s stacks and diffing the platform program"):
        plan = off.plan(usecase, s3)
    off.refuse_if_stacks_remain(plan)
    console.info(
        f"the platform's next `pulumi up` deletes {len(plan.removed)} resources of {usecase}:"
    )
    for kind in sorted({t for t, _ in plan.removed}):
        names = [n for t, n in plan.removed if t == kind]
        console.info(f"  {kind.rsplit(':', 1)[-1]} x{len(names)}: {', '.join(names[:3])}"
                     + (" ..." if len(names) > 3 else ""))  # fmt: skip
    for _kind, name, why in plan.kept:
        console.info(f"  kept in AWS: {name} ({why})")
    console.info("  kept: its objects in the shared data, artifacts and audit buckets (lifecycle "
                 "and Object Lock retention)")  # fmt: skip
    if not apply:
        console.success(f"plan only; `mlops offboard {usecase} --apply` removes the manifest")
        return
    path = off.apply(plan)
    console.success(f"removed {path}: open a pull request; the platform pipeline applies it")


pipeline_app = typer.Typer(
    help="Training pipelines: what a pipeline definition runs.", no_args_is_help=True
)
app.add_typer(pipeline_app, name="pipeline")


@pipeline_app.command("show")
def pipeline_show(
    usecase: Annotated[str, typer.Argument(help="Use case whose pipeline to build offline.")] = (
        "remedy"
    ),
    definition: Annotated[
        Path | None,
        typer.Option(
            "--definition",
            help="A definition JSON file (or `aws sagemaker describe-pipeline` output) instead.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print a training pipeline definition's images (with digests), code version, gate and
    tuning budget; exit 1 when an image is not digest-pinned or the code is not one version."""
    from mlops.delivery import pipeline_summary as ps

    if definition is not None:
        data = ps.load_definition(definition)
    else:
        with console.status(f"building the {usecase} training pipeline definition offline"):
            data = ps.offline_definition(usecase)
    summary = ps.summarize(data)
    if as_json:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        for line in summary.lines():
            console.out.print(line, soft_wrap=True, markup=False)
        for problem in summary.problems:
            console.error(problem)
    if summary.problems:
        raise typer.Exit(1)


analytics_app = typer.Typer(
    help="Decision analytics: load the local event stream into the warehouse.",
    no_args_is_help=True,
)
app.add_typer(analytics_app, name="analytics")
WarehouseOption = Annotated[Path, typer.Option("--warehouse", help="DuckDB warehouse file.")]


@analytics_app.command("refresh")
def analytics_refresh(
    warehouse: WarehouseOption = Path(".mlops/analytics/warehouse.duckdb"),
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="Embedded AWS (moto) URL; default AWS_ENDPOINT_URL."),
    ] = None,
    usecase: Annotated[str, typer.Option("--usecase", help="Use case whose events to load.")] = (
        "remedy"
    ),
) -> None:
    """Load new decision-event objects from the local landing bucket (idempotent)."""
    from mlops.analytics.commands import refresh_command

    with console.status("loading new landing objects into the warehouse"):
        summary = refresh_command(warehouse, endpoint_url, usecase)
    for line in summary.lines():
        console.success(line)


@app.command()
def dashboard(
    warehouse: WarehouseOption = Path(".mlops/analytics/warehouse.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        ".mlops/analytics/dashboard"
    ),
    reference: Annotated[
        Path | None, typer.Option("--reference", help="Training reference profile (JSON) for PSI.")
    ] = None,
    psi_threshold: Annotated[float, typer.Option("--psi-threshold")] = 0.2,
    usecase: Annotated[
        str, typer.Option("--usecase", help="Use case whose dashboard to draw (its manifest's).")
    ] = "remedy",
) -> None:
    """Render the offline HTML dashboard and one PNG per chart from the warehouse."""
    from mlops.analytics.commands import dashboard_command

    with console.status(f"rendering {usecase}'s dashboard"):
        files = dashboard_command(warehouse, out, reference, psi_threshold, usecase)
    console.success(f"dashboard: {files['html']} ({len(files) - 1} charts as PNG in {out})")


def main() -> None:
    """Console-script entry point: one place turns MlopsError into a message and an exit code.

    Usage errors (unknown option, missing argument) are reported by typer itself with exit code 2.
    """
    try:
        app()
    except MlopsError as exc:
        if _state["debug"]:
            raise
        console.error(exc.message, exc.fix)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
