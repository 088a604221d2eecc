"""Answers to a template's questions: cast and validated before anything is rendered (with the same
Jinja environment copier uses for its ``validator:`` expressions; copier checks them again while
rendering); the platform's own answers (region, accounts); answers files; the default owner."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from mlops.config import REPO_ROOT, StackConfig
from mlops.onboarding.errors import AnswersError
from mlops.onboarding.templates import METADATA_KEYS, Question, TemplateInfo


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

    return platform_answers_for(load_stack_config("dev", root))


def platform_answers_for(cfg: StackConfig) -> dict[str, str]:
    """`platform_answers` from a loaded stack configuration."""
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


def load_answers_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise AnswersError(f"answers file {path} not found", "pass an existing YAML file") from None
    except yaml.YAMLError as exc:
        raise AnswersError(
            f"answers file {path} is not valid YAML: {exc}", "fix the YAML syntax"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AnswersError(
            f"answers file {path} must be a mapping of question: answer",
            "write it like `eval_threshold: 0.8` (one answer per line)",
        )
    return data


def default_owner_email() -> str | None:
    """The owner when the answers name none: $MLOPS_OWNER_EMAIL, else git's user.email."""
    if email := os.environ.get("MLOPS_OWNER_EMAIL"):
        return email
    exe = shutil.which("git")
    if exe is None:
        return None
    proc = subprocess.run(  # noqa: S603 - fixed executable and arguments
        [exe, "config", "user.email"], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or None
