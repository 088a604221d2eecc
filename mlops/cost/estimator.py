"""Monthly cost estimate of one stack from the resources its program registers.

Pure: `estimate(...)` takes recorded resources (from the real program under mocks, or built by
hand in tests), a price table and usage assumptions, and returns line items, the free types and the
types it could not price. `mlops.cost.report` runs the program and feeds it.

Use cases add work the program does not create as resources: their SageMaker pipelines train and
tune in dev, and their endpoints are deployed by the use-case CI/CD. Both are estimated from
`usecases/<name>.yaml` (instance types, endpoint mode, tuning budget), unless the program itself
creates an endpoint whose name contains the use case.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from mlops.cost.catalog import EXTERNAL_PREFIXES, FREE_TYPES, IGNORED_PREFIXES
from mlops.cost.model import Context, Estimate, LineItem
from mlops.cost.pricers import ENDPOINT, PRICERS, EndpointSpec, endpoint_items, physical
from mlops.cost.prices import PriceTable
from mlops.cost.usage import Usage
from mlops.testing.mocks import RecordedResource
from mlops.usecases import UseCaseManifest

TRAINING = "(use case) SageMaker training + tuning"
PROCESSING = "(use case) SageMaker processing"


def classify(typ: str) -> str:
    """'priced', 'free', 'external', 'ignored' or 'unknown' for one resource type."""
    if typ.startswith(IGNORED_PREFIXES):
        return "ignored"
    if typ in PRICERS:
        return "priced"
    if typ in FREE_TYPES:
        return "free"
    if typ.startswith(tuple(EXTERNAL_PREFIXES)):
        return "external"
    return "unknown"


def usecase_items(
    manifests: Sequence[UseCaseManifest], environment: str, ctx: Context
) -> list[LineItem]:
    """Endpoints (when the program does not create them) and training, per use-case manifest."""
    program_endpoints = [physical(r) for r in ctx.of_type(ENDPOINT)]
    u, p = ctx.usage, ctx.prices
    items: list[LineItem] = []
    for m in manifests:
        settings = m.stacks.for_env(environment)
        source = f"usecases/{m.name}.yaml"
        if not any(m.name in name for name in program_endpoints):
            ep = settings.endpoint
            if ep.mode == "serverless":
                spec = EndpointSpec(m.name, "serverless", memory_mb=ep.memory_mb,
                                    source=f"{source}, deployed by its pipeline")  # fmt: skip
            else:
                spec = EndpointSpec(
                    m.name, "realtime", instance_type=ep.instance_type,
                    instances=ep.min_instances, source=f"{source} min_instances, deployed by its "
                    "pipeline",
                )  # fmt: skip
            items += endpoint_items(spec, ctx)
        jobs = u.training_runs + u.tuning_runs * m.tuning.max_jobs
        if jobs:
            rate = p.table("sagemaker.training_instance_hour").get(settings.training_instance_type)
            if rate is None:
                ctx.flag(TRAINING, f"{settings.training_instance_type} not in the price table")
            else:
                hours = jobs * u.training_job_hours
                items.append(LineItem(
                    TRAINING, f"{m.name}: {settings.training_instance_type}", 1,
                    "instance-hours", hours, hours * rate,
                    f"{u.training_runs:g} training runs + {u.tuning_runs:g} tuning run(s) x "
                    f"{m.tuning.max_jobs} trials, {u.training_job_hours:g} h per job ({source})",
                ))  # fmt: skip
        runs = u.training_runs + u.tuning_runs
        if runs and u.processing_jobs_per_run:
            kind = settings.processing_instance_type
            rate = p.table("sagemaker.processing_instance_hour").get(kind)
            if rate is None:
                ctx.flag(PROCESSING, f"{kind} not in the price table")
            else:
                hours = runs * u.processing_jobs_per_run * u.processing_job_hours
                items.append(LineItem(
                    PROCESSING, f"{m.name}: {kind}", 1, "instance-hours", hours, hours * rate,
                    f"{runs:g} runs x {u.processing_jobs_per_run:g} jobs x "
                    f"{u.processing_job_hours:g} h ({source})",
                ))  # fmt: skip
    return items


def estimate(
    stack: str,
    resources: Sequence[RecordedResource],
    prices: PriceTable,
    usage: Usage,
    *,
    environment: str | None = None,
    manifests: Sequence[UseCaseManifest] = (),
    az_count: int = 2,
) -> Estimate:
    """Price every custom resource; list free, external and unknown types with their counts."""
    custom = [r for r in resources if r.custom]
    ctx = Context(prices=prices, usage=usage, resources=custom, az_count=az_count)
    by_type: dict[str, list[RecordedResource]] = defaultdict(list)
    for r in custom:
        by_type[r.type].append(r)
    items: list[LineItem] = []
    free: dict[str, tuple[int, str]] = {}
    external: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    for typ in sorted(by_type):
        kind = classify(typ)
        if kind == "priced":
            items += PRICERS[typ](by_type[typ], ctx)
        elif kind == "free":
            free[typ] = (len(by_type[typ]), FREE_TYPES[typ])
        elif kind == "external":
            reason = next(v for k, v in EXTERNAL_PREFIXES.items() if typ.startswith(k))
            external[typ] = (len(by_type[typ]), reason)
        elif kind == "unknown":
            unknown.append(typ)
    items += usecase_items(manifests, environment or stack, ctx)
    counts = Counter(r.type for r in custom)
    unpriced = {t: (counts[t], "no price rule: add it to mlops/cost (pricers.py or catalog.py)")
                for t in unknown}  # fmt: skip
    unpriced.update({t: (counts.get(t, 0), why) for t, why in ctx.unpriced.items()})
    return Estimate(
        stack=stack, prices=prices, usage=usage, items=items, free=free, external=external,
        unpriced=unpriced,
        resource_count=sum(1 for r in custom if not r.type.startswith(IGNORED_PREFIXES)),
    )  # fmt: skip


def unclassified_types(resources: Sequence[RecordedResource]) -> list[str]:
    """Types of custom resources neither priced nor listed as free/external (for tests)."""
    return sorted({r.type for r in resources if r.custom and classify(r.type) == "unknown"})
