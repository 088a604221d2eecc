"""Onboarding: the use-case templates, rendering a use case's two repos, and updating them later.

One concept per module:

* ``templates``: discovery, metadata and questions of ``templates/<name>/copier.yml``;
* ``answers``: casting and validating answers (and the platform's own: region, accounts);
* ``store``: the template store, one git repo per template, each version a tagged root commit;
* ``render``: rendering one repo from a stored version with copier;
* ``manifest``: the ``usecases/<name>.yaml`` written from the answers;
* ``create``: ``mlops onboard``, both repos and the manifest, all or nothing;
* ``updates``: ``mlops update`` of one repo or of every onboarded repo;
* ``provider``: the Git provider (``GitProvider``; ``GitHubProvider``: REST + git over HTTPS);
* ``publish``: both repos and the manifest pull request; one pull request per updated repo;
* ``form``: a template's questions as its Studio (Service Catalog) form;
* ``studio``: the onboarding build of a Studio launch (onboard, publish, answer CloudFormation);
* ``vcs``: git with the platform's identity; ``errors``; ``commands``: the CLI glue.
"""

from __future__ import annotations

from mlops.onboarding.answers import (
    PLATFORM_CONFIG_QUESTIONS,
    load_answers_file,
    platform_answers,
    validate_answers,
)
from mlops.onboarding.commands import (
    onboard_command,
    templates_command,
    update_all_command,
    update_command,
)
from mlops.onboarding.create import OnboardResult, onboard
from mlops.onboarding.errors import (
    AnswersError,
    OnboardingError,
    TemplateError,
    UpdateConflictError,
)
from mlops.onboarding.manifest import build_manifest
from mlops.onboarding.render import ANSWERS_FILE, render_repo
from mlops.onboarding.store import TemplateStore, content_hash
from mlops.onboarding.templates import (
    METADATA_KEYS,
    PLATFORM_QUESTIONS,
    REPO_KINDS,
    Question,
    TemplateInfo,
    discover,
    get_template,
    load_template,
    templates_dir,
)
from mlops.onboarding.updates import RepoUpdate, UpdateResult, update, update_all

__all__ = [
    "ANSWERS_FILE",
    "METADATA_KEYS",
    "PLATFORM_CONFIG_QUESTIONS",
    "PLATFORM_QUESTIONS",
    "REPO_KINDS",
    "AnswersError",
    "OnboardResult",
    "OnboardingError",
    "Question",
    "RepoUpdate",
    "TemplateError",
    "TemplateInfo",
    "TemplateStore",
    "UpdateConflictError",
    "UpdateResult",
    "build_manifest",
    "content_hash",
    "discover",
    "get_template",
    "load_answers_file",
    "load_template",
    "onboard",
    "onboard_command",
    "platform_answers",
    "render_repo",
    "templates_command",
    "templates_dir",
    "update",
    "update_all",
    "update_all_command",
    "update_command",
    "validate_answers",
]
