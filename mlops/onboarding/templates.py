"""Use-case templates: discovery, metadata, questions and answer validation.

A template is a folder ``templates/<name>/`` holding one ``copier.yml``. Its metadata is declared
once, in copier.yml, as three hidden questions (``when: false``) so that Jinja can use them and
copier carries them into every render:

    template_name:        {type: str, default: tabular-classification, when: false}
    template_description: {type: str, default: "...", when: false}
    template_version:     {type: str, default: "1.0.0", when: false}

Every template also asks the *platform questions* (``PLATFORM_QUESTIONS``) that onboarding needs
to write ``usecases/<name>.yaml``, and ``repo_kind`` (training|inference) used as
``_subdirectory: "{{ repo_kind }}"`` so one template renders both repos. The platform's copier
settings and the questions that are the same in every template are defined once, in
``templates/platform-questions.yml`` (``PLATFORM_FILE``), which each copier.yml includes.

Answers are validated in ``mlops.onboarding.answers``.
"""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from mlops.config import REPO_ROOT
from mlops.onboarding.errors import TemplateError

METADATA_KEYS = ("template_name", "template_description", "template_version")
GATE_METRICS_KEY = "template_gate_metrics"
"""Hidden question (type yaml): {metric: maximize|minimize} for every metric the template's
evaluation step reports with a one-sided "better" — the only metrics a manifest may gate on."""
DIRECTIONS = ("maximize", "minimize")
ANALYTICS_KEY = "template_analytics"
"""Optional hidden question (type yaml): the template's analytics entry points, copied into every
manifest onboarded from it (``analytics:`` in usecases/<name>.yaml, e.g. ``{events:
remedy_core.events:REGISTRY, dashboard: remedy_core.dashboard:render}``)."""
# Answers every template must ask: onboarding maps them into the use-case manifest.
PLATFORM_QUESTIONS = (
    "repo_kind",
    "usecase_name",
    "description",
    "owner_email",
    "aws_region",
    "dev_account_id",
    "staging_account_id",
    "prod_account_id",
    "eval_metric",
    "eval_threshold",
    "tuning_max_jobs",
    "tuning_max_parallel",
)
REPO_KINDS = ("training", "inference")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_TYPES = ("str", "int", "float", "bool", "yaml", "json")
PLATFORM_FILE = "platform-questions.yml"
"""In ``templates/``: the platform's copier settings and the questions every template asks the
same way. Each copier.yml starts with ``--- !include platform-questions.yml``; copier includes only
files inside the template, so the template store adds this file to every snapshot (next to
copier.yml) and `read_copier_config` reads it from ``templates/``."""
_MERGED_LISTS = ("_exclude", "_jinja_extensions", "_secret_questions", "_skip_if_exists")
"""Settings copier concatenates across copier.yml's documents (every other key: the last wins)."""
# The Jinja extensions copier loads by default (validators may use their filters).
_COPIER_EXTENSIONS = ("jinja2_ansible_filters.AnsibleCoreFiltersExtension",)


def templates_dir() -> Path:
    """Where templates live: ``$MLOPS_TEMPLATES_DIR`` or the platform repo's ``templates/``."""
    return Path(os.environ.get("MLOPS_TEMPLATES_DIR") or REPO_ROOT / "templates")


@dataclass(frozen=True)
class Question:
    name: str
    type: str = "str"
    help: str = ""
    default: Any = None
    choices: tuple[Any, ...] = ()
    validator: str = ""
    hidden: bool = False
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is None and not self.hidden

    def describe_default(self) -> str:
        if self.default is None:
            return "(required)"
        return str(self.default)


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    description: str
    version: str
    path: Path
    settings: dict[str, Any] = field(repr=False)
    questions: tuple[Question, ...] = field(repr=False)
    gate_metrics: dict[str, str] = field(default_factory=dict, repr=False)
    """{metric: maximize|minimize} the template's evaluation reports (``template_gate_metrics``)."""
    analytics: dict[str, str] = field(default_factory=dict, repr=False)
    """The manifest's ``analytics`` entry points (``template_analytics``); empty: none."""

    @property
    def visible_questions(self) -> tuple[Question, ...]:
        """Questions a user answers (not metadata, not repo_kind, which onboarding sets)."""
        return tuple(q for q in self.questions if not q.hidden and q.name != "repo_kind")

    def question(self, name: str) -> Question | None:
        return next((q for q in self.questions if q.name == name), None)

    @cached_property
    def _env(self):
        from jinja2.sandbox import SandboxedEnvironment

        extensions = [*_COPIER_EXTENSIONS, *self.settings.get("jinja_extensions", [])]
        return SandboxedEnvironment(extensions=extensions)

    def render_value(self, value: Any, context: dict[str, Any]) -> Any:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            return self._env.from_string(value).render(**context)
        return value


def _parse_question(name: str, spec: Any, source: str) -> Question:
    if not isinstance(spec, dict):
        spec = {"default": spec}
    qtype = spec.get("type", "str")
    if qtype not in _TYPES:
        raise TemplateError(
            f"{source}: question {name!r} has unknown type {qtype!r}",
            f"use one of {', '.join(_TYPES)}",
        )
    choices = spec.get("choices") or ()
    if isinstance(choices, dict):
        choices = tuple(choices.values())
    when = spec.get("when", True)
    return Question(
        name=name,
        type=qtype,
        help=str(spec.get("help", "")).strip(),
        default=spec.get("default"),
        choices=tuple(choices),
        validator=str(spec.get("validator", "") or ""),
        hidden=when is False or str(when).strip().lower() == "false",
        secret=bool(spec.get("secret", False)),
    )


def copier_documents(text: str, include: Callable[[str], list[Any]]) -> dict[str, Any]:
    """copier.yml's documents merged as copier merges them (`copier._template.load_template_config`:
    `!include` documents flattened in place, a later document wins on a key, the `_MERGED_LISTS`
    settings concatenated); `include(pattern)` returns the documents a `!include` names."""

    class _Loader(yaml.SafeLoader):
        """A private loader class, so the `!include` constructor stays local."""

    def _include(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
        if not isinstance(node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "!include takes a relative path", node.start_mark
            )
        return include(str(loader.construct_scalar(node)))

    _Loader.add_constructor("!include", _include)

    def flat(items: Any) -> list[Any]:
        if isinstance(items, list):
            return [d for item in items for d in flat(item)]
        return [items] if items else []

    documents = flat(list(yaml.load_all(text, Loader=_Loader)))
    merged = {k: [v for d in documents for v in d.get(k, [])] for k in _MERGED_LISTS}
    merged = {k: v for k, v in merged.items() if v}
    return dict(ChainMap(merged, *reversed(documents)))


def read_copier_config(path: Path) -> dict[str, Any]:
    """`path`/copier.yml as copier reads it from the template store's snapshot: an `!include`
    matches files inside the template folder, and `PLATFORM_FILE` (which the store adds to every
    snapshot) comes from the folder holding the templates."""

    def include(pattern: str) -> list[Any]:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise TemplateError(
                f"templates/{path.name}/copier.yml includes {pattern!r}",
                "include files by a relative path inside the template (copier's rule)",
            )
        files = sorted(path.glob(pattern))
        if not files and pattern == PLATFORM_FILE and (path.parent / PLATFORM_FILE).is_file():
            files = [path.parent / PLATFORM_FILE]
        return [doc for f in files for doc in yaml.safe_load_all(f.read_text())]

    return copier_documents((path / "copier.yml").read_text(), include)


def load_template(path: Path) -> TemplateInfo:
    """Read one template folder; errors name the file and the fix."""
    source = f"templates/{path.name}/copier.yml"
    conf = path / "copier.yml"
    if not conf.is_file():
        raise TemplateError(f"{source} not found", "every template folder needs a copier.yml")
    try:
        data = read_copier_config(path)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source} is not valid YAML: {exc}", "fix the YAML syntax") from None
    settings = {k[1:]: v for k, v in data.items() if k.startswith("_")}
    questions = tuple(
        _parse_question(k, v, source) for k, v in data.items() if not k.startswith("_")
    )
    by_name = {q.name: q for q in questions}
    missing = [k for k in (*METADATA_KEYS, *PLATFORM_QUESTIONS) if k not in by_name]
    if missing:
        raise TemplateError(
            f"{source} lacks the question(s) {', '.join(missing)}",
            "declare the metadata (template_name/description/version, when: false) and the "
            "platform questions listed in templates/README.md",
        )
    meta = {k: by_name[k].default for k in METADATA_KEYS}
    if meta["template_name"] != path.name:
        raise TemplateError(
            f"{source}: template_name is {meta['template_name']!r} but the folder is {path.name!r}",
            f"set template_name's default to {path.name}",
        )
    if not _SEMVER.match(str(meta["template_version"])):
        raise TemplateError(
            f"{source}: template_version {meta['template_version']!r} is not MAJOR.MINOR.PATCH",
            "use a version such as 1.0.0",
        )
    if tuple(by_name["repo_kind"].choices) != REPO_KINDS:
        raise TemplateError(
            f"{source}: repo_kind must have choices [training, inference]",
            'declare repo_kind with choices [training, inference] and _subdirectory: "{{ '
            'repo_kind }}"',
        )
    return TemplateInfo(
        name=path.name,
        description=str(meta["template_description"]),
        version=str(meta["template_version"]),
        path=path,
        settings=settings,
        questions=questions,
        gate_metrics=_gate_metrics(by_name.get(GATE_METRICS_KEY), source),
        analytics=_analytics(by_name.get(ANALYTICS_KEY), source),
    )


def _analytics(question: Question | None, source: str) -> dict[str, str]:
    if question is None:
        return {}
    entry_points = question.default
    if not isinstance(entry_points, dict) or not all(
        isinstance(v, str) for v in entry_points.values()
    ):
        raise TemplateError(
            f"{source}: {ANALYTICS_KEY} must map names to <module>:<attribute> strings",
            f"declare {ANALYTICS_KEY}: {{type: yaml, when: false, default: {{events: "
            "<module>:<attribute>, dashboard: <module>:<function>}}",
        )
    return {str(k): v for k, v in entry_points.items()}


def _gate_metrics(question: Question | None, source: str) -> dict[str, str]:
    fix = (
        f"declare {GATE_METRICS_KEY}: {{type: yaml, when: false, default: {{<metric>: "
        "maximize|minimize, ...}}}} listing the metrics the evaluation step reports"
    )
    if question is None:
        raise TemplateError(f"{source} lacks the question {GATE_METRICS_KEY}", fix)
    metrics = question.default
    if not isinstance(metrics, dict) or not metrics:
        raise TemplateError(f"{source}: {GATE_METRICS_KEY} must be a non-empty mapping", fix)
    bad = {k: v for k, v in metrics.items() if v not in DIRECTIONS}
    if bad:
        raise TemplateError(
            f"{source}: {GATE_METRICS_KEY} has directions other than maximize/minimize: {bad}", fix
        )
    return {str(k): str(v) for k, v in metrics.items()}


def discover(directory: Path | None = None) -> list[TemplateInfo]:
    """Every template under `directory` (folders holding a copier.yml), sorted by name."""
    directory = directory or templates_dir()
    return [load_template(p.parent) for p in sorted(directory.glob("*/copier.yml"))]


def get_template(name: str, directory: Path | None = None) -> TemplateInfo:
    directory = directory or templates_dir()
    path = directory / name
    if not (path / "copier.yml").is_file():
        known = ", ".join(p.parent.name for p in sorted(directory.glob("*/copier.yml")))
        raise TemplateError(
            f"unknown template {name!r}",
            f"use one of: {known or '(none found in ' + str(directory) + ')'} "
            "(list them with `mlops templates`)",
        )
    return load_template(path)
