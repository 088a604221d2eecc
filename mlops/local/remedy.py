"""The local demo's use case, Remedy, from this checkout (``usecases/remedy.yaml`` and the
template's code in ``templates/remedy``).

Local mode and the test suite run Remedy's code from the template tree; the analytics pieces
come through the manifest's entry points (:mod:`mlops.analytics.usecase`), as for any use case.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from mlops.analytics.usecase import analytics_for, use_template_sources
from mlops.usecases import USECASES_DIR

if TYPE_CHECKING:
    from mlops.analytics.usecase import UseCaseAnalytics
    from mlops.events import EventRegistry

USECASE = "remedy"
TEMPLATE = "remedy"


def remedy_on_path() -> None:
    """Remedy's packages (``remedy_core``, ``remedy_training``, ``remedy_inference``) importable
    from ``templates/remedy``."""
    use_template_sources(TEMPLATE)


@cache
def remedy_analytics() -> UseCaseAnalytics:
    """Remedy's analytics entry points, from this checkout's manifest (not $MLOPS_USECASES_DIR:
    the demo's use case is the checkout's own)."""
    remedy_on_path()
    return analytics_for(USECASE, USECASES_DIR)


def remedy_registry() -> EventRegistry:
    """Remedy's event registry (the manifest's ``analytics.events``)."""
    return remedy_analytics().events
