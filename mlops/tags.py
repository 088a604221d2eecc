"""Tags every taggable resource carries.

The root builds the base tags once and sets them as provider default tags; components also merge
them explicitly, because Pulumi mocks (our tests) never see provider default tags.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlops.config import StackConfig

REQUIRED_TAGS = ("owner", "cost-centre", "data-classification", "environment")


def base_tags(cfg: StackConfig) -> dict[str, str]:
    return {
        "owner": cfg.tags.owner,
        "cost-centre": cfg.tags.cost_centre,
        "data-classification": cfg.tags.data_classification,
        "environment": cfg.environment,
        "managed-by": "pulumi",
    }


def with_component(tags: Mapping[str, str], component: str, **extra: str) -> dict[str, str]:
    """Base tags plus the building block that owns the resource."""
    return {**tags, "component": component, **extra}
