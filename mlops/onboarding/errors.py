"""The errors of onboarding: a template, its answers, onboarding or updating a use case."""

from __future__ import annotations

from mlops.errors import MlopsError


class TemplateError(MlopsError):
    """A template is missing or malformed."""


class AnswersError(MlopsError):
    """Answers given for a template are invalid."""


class OnboardingError(MlopsError):
    """Onboarding or updating a use case failed."""


class UpdateConflictError(OnboardingError):
    """`mlops update` left conflict markers to resolve."""
