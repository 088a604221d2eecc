"""Lambda behind the product's ``Custom::MlopsOnboarding`` resource: starts the onboarding build.

Stand-alone (shipped as one file; stdlib + boto3 from the Lambda runtime). ``handle`` is pure over
its two callables and unit-tested; ``lambda_handler`` wires boto3 and the CloudFormation response.

Create: a quick check of the name and owner (so an obvious typo fails in seconds), then the build
gets the form's answers and CloudFormation's response coordinates and answers CloudFormation itself
when the repos and the pull request exist, or with the error (``mlops.onboarding.studio``): the
hook does not answer a started build. Update and Delete are answered at once and change nothing:
a use case changes, or is offboarded, by a reviewed change to ``usecases/``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

NAME_PATTERN = os.environ.get("USECASE_NAME_PATTERN", r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
NAME_MAX = int(os.environ.get("USECASE_NAME_MAX", "32"))
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PENDING = "PENDING"
"""The build answers CloudFormation (status of `handle` for a started build)."""


def handle(
    event: Mapping[str, Any], start_build: Callable[[dict[str, str]], str]
) -> tuple[str, dict[str, str], str]:
    """(status, data, reason) for a CloudFormation custom-resource event."""
    props = event.get("ResourceProperties") or {}
    if event.get("RequestType") == "Delete":
        return "SUCCESS", {}, "use cases are offboarded by a change to usecases/, not by delete"
    if event.get("RequestType") == "Update":
        return "SUCCESS", {}, "a use case changes by a change to usecases/ (and mlops update)"
    name = str(props.get("UseCaseName", ""))
    answers = props.get("Answers") or {}
    if not isinstance(answers, dict):
        return "FAILED", {}, "Answers must be a map of question: value"
    email = str(answers.get("owner_email", ""))
    if len(name) > NAME_MAX or not re.fullmatch(NAME_PATTERN, name):
        return (
            "FAILED",
            {},
            (
                f"UseCaseName {name!r} is invalid: use lower-case letters, digits, single hyphens, "
                f"at most {NAME_MAX} characters"
            ),
        )
    if "owner_email" in answers and not re.fullmatch(EMAIL_PATTERN, email):
        return "FAILED", {}, f"OwnerEmail {email!r} is not an e-mail address"
    env = {
        "USECASE_NAME": name,
        "TEMPLATE": str(props.get("Template", "")),
        "TEMPLATE_VERSION": str(props.get("TemplateVersion", "")),
        "ANSWERS_JSON": json.dumps({str(k): str(v) for k, v in answers.items()}, sort_keys=True),
        "SAGEMAKER_PROJECT_ID": str(props.get("ProjectId", "")),
        "CFN_RESPONSE_URL": str(event.get("ResponseURL", "")),
        "CFN_STACK_ID": str(event.get("StackId", "")),
        "CFN_REQUEST_ID": str(event.get("RequestId", "")),
        "CFN_LOGICAL_ID": str(event.get("LogicalResourceId", "")),
        "CFN_PHYSICAL_ID": f"onboarding-{name}",
    }
    build_id = start_build(env)
    return PENDING, {"BuildId": build_id}, f"onboarding build {build_id} started"


def respond(
    event: Mapping[str, Any], status: str, data: dict[str, str], reason: str, physical_id: str
) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    url = str(event["ResponseURL"])
    if not url.startswith("https://"):
        raise ValueError("ResponseURL must be https")
    headers = {"Content-Type": ""}
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - https checked above
        pass


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    import boto3

    project = os.environ["ONBOARD_PROJECT"]
    codebuild = boto3.client("codebuild")

    def start_build(env: dict[str, str]) -> str:
        response = codebuild.start_build(
            projectName=project,
            environmentVariablesOverride=[
                {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env.items()
            ],
        )
        return response["build"]["id"]

    name = str((event.get("ResourceProperties") or {}).get("UseCaseName", ""))
    physical = event.get("PhysicalResourceId") or f"onboarding-{name or event['RequestId']}"
    try:
        status, data, reason = handle(event, start_build)
    except Exception as exc:  # report every failure to CloudFormation instead of hanging the stack
        status, data, reason = "FAILED", {}, f"onboarding could not start: {exc}"
    if status != PENDING:  # a started build answers when the repos and the PR exist
        respond(event, status, data, reason, physical)
