"""Every resource type the real program creates is priced or explicitly free.

This grows with the platform: when a component adds a resource type, this test names it, and
the component's owner adds a price rule (mlops/cost/pricers*.py) or a free entry (catalog.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pulumi_aws

from mlops.cost.catalog import FREE_TYPES
from mlops.cost.estimator import estimate, unclassified_types
from mlops.cost.pricers import PRICERS
from mlops.cost.prices import load_prices
from mlops.cost.usage import default_usage
from mlops.usecases import load_manifests

AWS_ROOT = Path(pulumi_aws.__file__).parent


def test_every_created_type_is_priced_or_free(program, stack_config) -> None:
    missing = unclassified_types(program.resources)
    assert not missing, (
        f"stack {stack_config.environment}: resource types with no price rule: {missing}. "
        "Price them in mlops/cost/pricers*.py or list them as free in mlops/cost/catalog.py"
    )


def test_program_estimate_prices_everything_it_meets(program, stack_config) -> None:
    env = stack_config.environment
    e = estimate(env, program.resources, load_prices(stack_config.region), default_usage(env),
                 environment=env, manifests=load_manifests(),
                 az_count=stack_config.network.az_count)  # fmt: skip
    assert not e.unpriced, f"stack {env}: not priced: {e.unpriced}"
    assert e.total > 0, f"stack {env}: an estimate of $0 means nothing was priced"


def _module_file(token: str) -> Path:
    _, module, _ = token.split(":")
    package, _, resource = module.partition("/")
    package = "lambda_" if package == "lambda" else package
    return AWS_ROOT / package / (re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower() + ".py")


def test_priced_and_free_types_are_real_pulumi_aws_types() -> None:
    wrong = []
    for token in sorted({*PRICERS, *FREE_TYPES}):
        path = _module_file(token)
        if not (path.exists() and f"'{token}'" in path.read_text()):
            wrong.append(token)
    assert not wrong, f"not pulumi-aws resource types (typo?): {wrong}"
