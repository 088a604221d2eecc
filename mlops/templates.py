"""Use-case templates: discovery, metadata, questions and answer validation.

A template is a folder ``templates/<name>/`` holding one ``copier.yml``. Its metadata is declared
once, in copier.yml, as three hidden questions (``when: false``) so that Jinja can use them and
copier carries them into every render:

    template_name:        {type: str, default: tabular-classification, when: false}
    template_description: {type: str, default: "...", when: false}
    template_version:     {type: str, default: "1.0.0", when: false}

Every template also asks the *platform questions* (``PLATFORM_QUESTIONS``) that onboarding needs
to write ``usecases/<name>.yaml``, and ``repo_kind`` (training|inference) used as
``_subdirectory: "{{ repo_kind }}"`` so one template renders both repos.

Answers are validated here, before anything is rendered, with the same Jinja environment copier
uses for its ``validator:`` expressions; copier checks them again while rendering.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from mlops.config import REPO_ROOT
from mlops.errors import MlopsError

METADATA_KEYS = ("template_name", "template_description", "template_version")
GATE_METRICS_KEY = "template_gate_metrics"
"""Hidden question (type yaml): {metric: maximize|minimize} for every metric the template's
evaluation step reports with a one-sided "better" — the only metrics a manifest may gate on."""
DIRECTIONS = ("maximize", "minimize")
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
# The Jinja extensions copier loads by default (validators may use their filters).
_COPIER_EXTENSIONS = ("jinja2_ansible_filters.AnsibleCoreFiltersExtension",)


class TemplateError(MlopsError):
    """A template is missing or malformed."""


class AnswersError(MlopsError):
    """Answers given for a template are invalid."""


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


def load_template(path: Path) -> TemplateInfo:
    """Read one template folder; errors name the file and the fix."""
    source = f"templates/{path.name}/copier.yml"
    conf = path / "copier.yml"
    if not conf.is_file():
        raise TemplateError(f"{source} not found", "every template folder needs a copier.yml")
    try:
        data = yaml.safe_load(conf.read_text()) or {}
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
    )


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


# --- answers ------------------------------------------------------------------------------------
def _cast(q: Question, value: Any) -> Any:
    """Cast like copier does; raise ValueError with a readable message."""
    if q.type == "str":
        if isinstance(value, (dict, list)):
            raise ValueError(f"must be text, got {type(value).__name__}")
        return str(value)
    if q.type == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"must be a whole number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number, got {value!r}") from None
    if q.type == "float":
        if isinstance(value, bool):
            raise ValueError(f"must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number, got {value!r}") from None
    if q.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "y", "1", "on"}:
            return True
        if text in {"false", "no", "n", "0", "off"}:
            return False
        raise ValueError(f"must be true or false, got {value!r}")
    # yaml / json: structured values, given either as data or as text
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"is not valid YAML: {exc}") from None
    return value


PLATFORM_CONFIG_QUESTIONS = (
    "aws_region",
    "dev_account_id",
    "staging_account_id",
    "prod_account_id",
)
"""Answers that default to the platform's own configuration (its `Pulumi.<stack>.yaml` files):
the rendered inference repo's stack files name the accounts and region the platform runs in."""


def platform_answers(root: Path = REPO_ROOT) -> dict[str, str]:
    """The platform's region and account ids, from its governance stack file (the accounts are the
    same in every stack file; `mlops.config` checks it)."""
    from mlops.config import load_stack_config

    cfg = load_stack_config("dev", root)
    return {
        "aws_region": cfg.region,
        **{f"{env}_account_id": cfg.accounts.for_env(env) for env in ("dev", "staging", "prod")},
    }


def validate_answers(
    info: TemplateInfo, answers: dict[str, Any], *, repo_kind: str = "training"
) -> dict[str, Any]:
    """Complete `answers` with defaults, cast and validate them; return the full answer set.

    All problems are collected and raised together as one AnswersError naming each question.
    """
    problems: list[str] = []
    known = {q.name for q in info.visible_questions}
    for key in answers:
        if key not in known:
            reason = (
                "is template metadata and cannot be answered"
                if key in METADATA_KEYS
                else "is set by mlops onboard"
                if key == "repo_kind"
                else "is not a question of this template"
            )
            problems.append(f"{key}: {reason}")
    context: dict[str, Any] = {}
    platform = (
        platform_answers()
        if any(q.name in PLATFORM_CONFIG_QUESTIONS for q in info.questions)
        else {}
    )
    for q in info.questions:
        if q.hidden:
            context[q.name] = info.render_value(q.default, context)
            continue
        if q.name == "repo_kind":
            context[q.name] = repo_kind
            continue
        if q.name in answers:
            raw = answers[q.name]
        elif q.name in platform:
            raw = platform[q.name]
        elif q.default is not None:
            raw = info.render_value(q.default, context)
        else:
            hint = " or set MLOPS_OWNER_EMAIL" if q.name == "owner_email" else ""
            problems.append(f"{q.name}: is required ({q.help or 'no default'}){hint}")
            continue
        try:
            value = _cast(q, raw)
        except ValueError as exc:
            problems.append(f"{q.name}: {exc}")
            continue
        if q.choices and value not in [_cast(q, c) for c in q.choices]:
            choices = ", ".join(str(c) for c in q.choices)
            problems.append(f"{q.name}: {value!r} is not one of {choices}")
            continue
        context[q.name] = value
        if q.validator:
            try:
                message = str(info.render_value(q.validator, context)).strip()
            except Exception as exc:
                # Usually an earlier answer was already wrong (its problem is listed); otherwise
                # the validator itself is broken, which is a template bug worth showing.
                message = "" if problems else f"validator failed: {exc}"
            if message:
                problems.append(f"{q.name}: {message}")
    if problems:
        raise AnswersError(
            f"invalid answers for template {info.name}:\n  " + "\n  ".join(problems),
            f"fix the answers (see `mlops templates` for {info.name}'s questions and defaults)",
        )
    return {q.name: context[q.name] for q in info.visible_questions}


__all__ = [
    "METADATA_KEYS",
    "PLATFORM_CONFIG_QUESTIONS",
    "PLATFORM_QUESTIONS",
    "REPO_KINDS",
    "AnswersError",
    "Question",
    "TemplateError",
    "TemplateInfo",
    "discover",
    "get_template",
    "load_template",
    "platform_answers",
    "templates_command",
    "templates_dir",
    "validate_answers",
]


def templates_command(as_json: bool = False, directory: Path | None = None) -> list[TemplateInfo]:
    """Print every template with its description, version and questions."""
    import json
    import sys

    from mlops import console

    found = discover(directory)
    if as_json:
        doc = [
            {
                "name": t.name,
                "version": t.version,
                "description": t.description,
                "questions": [
                    {
                        "name": q.name,
                        "type": q.type,
                        "default": q.default,
                        "choices": list(q.choices),
                        "help": q.help,
                    }
                    for q in t.visible_questions
                ],
            }
            for t in found
        ]
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return found
    from rich.table import Table
    from rich.text import Text

    summary = Table(title="use-case templates", title_justify="left")
    for column in ("template", "version", "description"):
        summary.add_column(column, no_wrap=column != "description")
    for t in found:
        summary.add_row(Text(t.name), Text(t.version), Text(t.description))
    console.out.print(summary)
    for t in found:
        questions = Table(title=f"{t.name} {t.version}: questions", title_justify="left")
        for column in ("question", "type", "default", "choices", "help"):
            questions.add_column(column, no_wrap=column in ("question", "type"))
        for q in t.visible_questions:
            choices = " | ".join(map(str, q.choices))
            cells = (q.name, q.type, q.describe_default(), choices, q.help)
            questions.add_row(*(Text(str(c)) for c in cells))
        console.out.print(questions)
    return found
