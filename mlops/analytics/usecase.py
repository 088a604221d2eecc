"""A use case's analytics code, found through its manifest (``analytics:`` in usecases/<name>.yaml).

The platform library knows no use case's events, features or charts. A manifest names them as
``<module>:<attribute>`` entry points into the use case's own packages::

    analytics:
      events: remedy_core.events:REGISTRY        # an mlops.events.EventRegistry
      dashboard: remedy_core.dashboard:render    # an mlops.analytics.dashboard.DashboardRenderer

and :func:`analytics_for` imports them with importlib when a command needs them. A module that is
not installed in this environment is looked for in the use case's template in this checkout
(``templates/<template>/core`` and ``templates/<template>/<repo>/src``), which is where a
platform checkout keeps it; every failure is a ``ManifestError`` naming the file, the field and
the fix.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.config import REPO_ROOT
from mlops.errors import ManifestError, MlopsError
from mlops.events import EventRegistry

if TYPE_CHECKING:
    from mlops.analytics.dashboard import DashboardRenderer, DashboardResult
    from mlops.analytics.drift import ReferenceProfile
    from mlops.analytics.warehouse import Warehouse
    from mlops.usecases import UseCaseManifest


def template_sources(template: str, root: Path = REPO_ROOT) -> list[Path]:
    """The source folders of a template in this checkout: its shared ``core/`` and each repo's
    ``src/`` (none when the checkout has no such template)."""
    base = root / "templates" / template
    if not base.is_dir():
        return []
    return [p for p in (base / "core", *sorted(base.glob("*/src"))) if p.is_dir()]


def use_template_sources(template: str, root: Path = REPO_ROOT) -> list[Path]:
    """Put the template's source folders first on ``sys.path`` (local mode and tests run the
    template's code from this checkout); returns them. MlopsError when there are none."""
    paths = template_sources(template, root)
    if not paths:
        raise MlopsError(
            f"template {template!r} has no code at {root / 'templates' / template}",
            fix="run from a checkout of the platform repository",
        )
    for path in paths:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return paths


def resolve(ref: str, *, field: str, source: str, template: str | None = None) -> Any:
    """The object a ``<module>:<attribute>`` entry point names; the template's sources in this
    checkout are tried when the module is not installed."""
    module_name, _, attribute = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if (
            template is None
            or missing != module_name.split(".")[0]
            or not template_sources(template)
        ):
            raise ManifestError(
                f"{source}: {field} {ref!r}: cannot import {module_name} ({exc})",
                f"install the use case's package in this environment, or correct {field} "
                "(<module>:<attribute>)",
            ) from None
        use_template_sources(template)
        return resolve(ref, field=field, source=source)
    except ImportError as exc:
        raise ManifestError(
            f"{source}: {field} {ref!r}: importing {module_name} failed ({exc})",
            f"fix the module, or correct {field}",
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ManifestError(
            f"{source}: {field} {ref!r}: {module_name} has no attribute {attribute!r}",
            f"correct {field} to name an attribute {module_name} defines",
        ) from None


@dataclass(frozen=True)
class UseCaseAnalytics:
    """The analytics pieces of one use case, loaded from its manifest."""

    usecase: str
    source: str
    events: EventRegistry
    dashboard: DashboardRenderer | None = None

    def render_dashboard(
        self,
        wh: Warehouse,
        out_dir: Path,
        *,
        reference: ReferenceProfile | None = None,
        psi_threshold: float | None = None,
    ) -> DashboardResult:
        """Run the use case's dashboard (``analytics.dashboard``) over the warehouse."""
        from mlops.analytics.dashboard import DashboardResult
        from mlops.analytics.drift import DEFAULT_PSI_THRESHOLD

        if self.dashboard is None:
            raise ManifestError(
                f"{self.source} declares no analytics.dashboard, so use case {self.usecase!r} "
                "has no dashboard to render",
                "add analytics.dashboard: <module>:<function> (a function that takes the "
                "warehouse and an output folder and writes the pages)",
            )
        threshold = DEFAULT_PSI_THRESHOLD if psi_threshold is None else psi_threshold
        result = self.dashboard(wh, Path(out_dir), reference=reference, psi_threshold=threshold)
        if not isinstance(result, DashboardResult):
            raise MlopsError(
                f"{self.source}: analytics.dashboard returned {type(result).__name__}, not a "
                "DashboardResult",
                "return mlops.analytics.dashboard.DashboardResult from the dashboard function",
            )
        return result


def load_analytics(manifest: UseCaseManifest, source: str | None = None) -> UseCaseAnalytics:
    """Import the entry points ``manifest.analytics`` names (errors name the field and the fix)."""
    source = source or f"usecases/{manifest.name}.yaml"
    declared = manifest.analytics
    if declared is None:
        raise ManifestError(
            f"{source} declares no analytics entry points, so the platform cannot read use case "
            f"{manifest.name!r}'s events",
            "add analytics: {events: <module>:<attribute>, dashboard: <module>:<function>} "
            "(e.g. usecases/remedy.yaml)",
        )
    events = resolve(declared.events, field="analytics.events", source=source,
                     template=manifest.template)  # fmt: skip
    if not isinstance(events, EventRegistry):
        raise ManifestError(
            f"{source}: analytics.events {declared.events!r} is a {type(events).__name__}, "
            "not an EventRegistry",
            "point analytics.events at the use case's mlops.events.EventRegistry",
        )
    dashboard: Callable[..., Any] | None = None
    if declared.dashboard:
        dashboard = resolve(declared.dashboard, field="analytics.dashboard", source=source,
                            template=manifest.template)  # fmt: skip
        if not callable(dashboard):
            raise ManifestError(
                f"{source}: analytics.dashboard {declared.dashboard!r} is not callable",
                "point analytics.dashboard at a function (wh, out_dir, *, reference, "
                "psi_threshold) -> DashboardResult",
            )
    return UseCaseAnalytics(manifest.name, source, events, dashboard)


def analytics_for(usecase: str, directory: Path | None = None) -> UseCaseAnalytics:
    """The analytics of the use case named ``usecase`` (its manifest in ``directory``, default
    ``usecases_dir()``)."""
    from mlops.usecases import is_valid_name, load_manifest, manifest_paths, usecases_dir

    folder = directory or usecases_dir()
    path = folder / f"{usecase}.yaml"
    if not is_valid_name(usecase) or not path.is_file():
        known = ", ".join(p.stem for p in manifest_paths(folder)) or "none"
        raise ManifestError(
            f"use case {usecase!r} has no manifest ({path})",
            f"pass --usecase with one of: {known}; or onboard it (`mlops onboard`)",
        )
    return load_analytics(load_manifest(path), _display(path))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
