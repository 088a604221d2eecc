"""The Studio form of a template: the same questions as `mlops onboard`, from its ``copier.yml``.

Each question a user answers (``TemplateInfo.visible_questions``) becomes one CloudFormation
parameter of the template's Service Catalog product (what Studio shows when a lead creates a
project): its help as the description, its choices as allowed values, its default (the platform's
own region and accounts for those questions). Defaults that copier computes from other answers
(Jinja) show as empty: an empty field means "the template's default".

What the lead enters is not trusted: the onboarding build runs the same ``validate_answers`` and
the same pydantic manifest model as `mlops onboard` (``mlops.onboarding.studio``), and reports a
bad answer back to CloudFormation, so Studio shows the message naming the question and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mlops.onboarding.templates import Question, TemplateInfo

PROJECT_NAME_PARAMETER = "SageMakerProjectName"
"""SageMaker Projects passes the project's name in this parameter: it is the use-case name."""
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass(frozen=True)
class FormField:
    """One question as a CloudFormation parameter."""

    question: str
    parameter: str
    type: str  # String | Number
    description: str
    default: str | None = None
    allowed_values: tuple[str, ...] = ()
    allowed_pattern: str | None = None

    def cfn(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"Type": self.type, "Description": self.description[:4000]}
        if self.default is not None:
            doc["Default"] = self.default
        if self.allowed_values:
            doc["AllowedValues"] = list(self.allowed_values)
        if self.allowed_pattern:
            doc["AllowedPattern"] = self.allowed_pattern
        return doc


def parameter_name(question: str) -> str:
    """`owner_email` -> `OwnerEmail` (CloudFormation parameter names are alphanumeric)."""
    if question == "usecase_name":
        return PROJECT_NAME_PARAMETER
    return "".join(part[:1].upper() + part[1:] for part in question.split("_"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field(q: Question, platform: dict[str, str]) -> FormField:
    computed = isinstance(q.default, str) and ("{{" in q.default or "{%" in q.default)
    default: str | None
    if q.name in platform:
        default = platform[q.name]
    elif q.default is None:
        default = None  # required: the form asks for it
    elif computed:
        default = ""
    else:
        default = _text(q.default)
    description = q.help or q.name
    if computed:
        description += " (empty: the template's default)"
    choices = tuple(_text(c) for c in q.choices)
    if q.type == "bool" and not choices:
        choices = ("true", "false")
    pattern = EMAIL_PATTERN if q.name == "owner_email" else None
    return FormField(
        question=q.name,
        parameter=parameter_name(q.name),
        type="Number" if q.type in ("int", "float") and not computed else "String",
        description=description,
        default=default,
        allowed_values=choices,
        allowed_pattern=pattern,
    )


def form_fields(
    info: TemplateInfo, platform: dict[str, str] | None = None
) -> tuple[FormField, ...]:
    """The form for `info`: one field per question `mlops onboard` asks, in copier.yml's order.

    `platform` gives the defaults the platform's configuration answers (region, account ids),
    as `validate_answers` does for the CLI."""
    fields = tuple(_field(q, platform or {}) for q in info.visible_questions)
    names = [f.parameter for f in fields]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(f"template {info.name}: questions map to the same parameter {clash}")
    return fields


def with_defaults(fields: tuple[FormField, ...], values: dict[str, str]) -> tuple[FormField, ...]:
    """`fields` with the given defaults (question -> value), e.g. the platform's region and
    account ids from the stack's configuration."""
    return tuple(
        replace(f, default=values[f.question]) if f.question in values else f for f in fields
    )
