"""The onboarding build of a Studio / Service Catalog launch: the same `mlops onboard` as the CLI,
then both repos created in the Git provider with the rendered code pushed, and the manifest pull
request opened; the outcome is CloudFormation's answer, so Studio shows it.

The product's custom resource (``mlops.delivery.cfn``) calls the onboarding hook
(``mlops.delivery.onboard_trigger``), which starts this build with the form's answers
(``ANSWERS_JSON``) and CloudFormation's response coordinates (``CFN_*``), and does not answer
itself. The build answers SUCCESS with the pull request and repo URLs, or FAILED with the error
(for a bad answer: the question and the fix, from the same ``validate_answers`` and pydantic
manifest model as the CLI). Steps, run by the buildspec (``mlops.delivery.buildspecs.onboard``)::

    python -m mlops.onboarding.studio clone platform   # the platform repo over HTTPS (token)
    cd platform && pip install --no-deps -e .          # its templates, usecases/, stack files
    python -m mlops.onboarding.studio onboard          # render, validate, publish, answer
    python -m mlops.onboarding.studio answer-if-failed # post_build: a step above broke early
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError
from mlops.onboarding.create import onboard, uv_lock
from mlops.onboarding.errors import AnswersError, OnboardingError
from mlops.onboarding.provider import GitProvider, provider_from_env
from mlops.onboarding.publish import Published, publish_onboarding
from mlops.onboarding.templates import get_template

Respond = Callable[[Mapping[str, Any], str, dict[str, str], str, str], None]
ANSWERED_MARKER = "/tmp/mlops-cfn-answered"  # noqa: S108 - the build's own scratch space


def answers_from_form(raw: str) -> dict[str, str]:
    """The form's answers (question -> text); empty values mean the template's default."""
    try:
        doc = json.loads(raw or "{}")
    except ValueError:
        raise AnswersError("ANSWERS_JSON is not JSON", "the onboarding hook sets it") from None
    if not isinstance(doc, dict):
        raise AnswersError("ANSWERS_JSON must be an object", "the onboarding hook sets it")
    return {str(k): str(v) for k, v in doc.items() if v is not None and str(v) != ""}


def _event(env: Mapping[str, str]) -> dict[str, str] | None:
    if not env.get("CFN_RESPONSE_URL"):
        return None
    return {
        "ResponseURL": env["CFN_RESPONSE_URL"],
        "StackId": env.get("CFN_STACK_ID", ""),
        "RequestId": env.get("CFN_REQUEST_ID", ""),
        "LogicalResourceId": env.get("CFN_LOGICAL_ID", ""),
    }


def _answer(
    env: Mapping[str, str], respond: Respond, status: str, data: dict[str, str], reason: str
) -> None:
    event = _event(env)
    marker = Path(env.get("CFN_ANSWERED_MARKER", ANSWERED_MARKER))
    if event is None or marker.exists():
        return
    physical = env.get("CFN_PHYSICAL_ID") or f"onboarding-{env.get('USECASE_NAME', '')}"
    respond(event, status, data, reason, physical)
    marker.write_text(status)


def _default_respond() -> Respond:
    from mlops.delivery.onboard_trigger import respond

    return respond


def clone(env: Mapping[str, str], into: Path, provider: GitProvider | None = None) -> Path:
    provider = provider or provider_from_env(dict(env))
    return provider.clone(env["PLATFORM_REPO"], into.resolve())


def run_onboarding(
    env: Mapping[str, str],
    checkout: Path,
    provider: GitProvider | None = None,
    lock: Callable[[Path], None] | None = uv_lock,
) -> Published:
    """Render and validate exactly as `mlops onboard`, then publish to the provider."""
    name, template = env.get("USECASE_NAME", ""), env.get("TEMPLATE", "")
    info = get_template(template, checkout / "templates")
    wanted = env.get("TEMPLATE_VERSION", "")
    if wanted and wanted != info.version:
        raise OnboardingError(
            f"the product is {template} {wanted} but the platform's main has {info.version}",
            "launch the product's current version in Studio (the catalog follows main)",
        )
    provider = provider or provider_from_env(dict(env))
    with tempfile.TemporaryDirectory(prefix="mlops-studio-") as tmp:
        result = onboard(
            name,
            template,
            answers=answers_from_form(env.get("ANSWERS_JSON", "")),
            out=Path(tmp) / "repos",
            usecases_dir=checkout / "usecases",
            templates_root=checkout / "templates",
            lock=lock,
        )
        return publish_onboarding(result, provider, checkout, env["PLATFORM_REPO"])


def main(
    argv: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    respond: Respond | None = None,
    provider: GitProvider | None = None,
) -> int:
    args = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    respond = respond or _default_respond()
    step = args[0] if args else ""
    try:
        if step == "clone" and len(args) == 2:
            clone(env, Path(args[1]), provider)
        elif step == "onboard":
            published = run_onboarding(env, Path.cwd(), provider)
            data = {
                "PullRequest": published.pull_request.url,
                **{
                    f"{k.capitalize()}Repo": r.html_url or r.clone_url
                    for k, r in published.repos.items()
                },
            }
            _answer(env, respond, "SUCCESS", data, f"opened {published.pull_request.url}")
            print(f"onboarded: {json.dumps(data)}")
        elif step == "answer-if-failed":
            if env.get("CODEBUILD_BUILD_SUCCEEDING", "1") == "0":
                _answer(env, respond, "FAILED", {}, "the onboarding build failed: see its log")
        else:
            print(
                "usage: python -m mlops.onboarding.studio clone DIR | onboard | answer-if-failed",
                file=sys.stderr,
            )
            return 2
    except MlopsError as exc:
        _answer(env, respond, "FAILED", {}, str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
