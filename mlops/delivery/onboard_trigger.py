"""Lambda behind the product's ``Custom::MlopsOnboarding`` resource: starts the onboarding build.

Stand-alone (shipped as one file; stdlib + boto3 from the Lambda runtime). ``handle`` is pure over
its two callables and unit-tested; ``lambda_handler`` wires boto3 and the CloudFormation response.
Delete is a no-op by design: removing the product never removes a use case — offboarding is a
reviewed change to ``usecases/``.
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


def handle(
    event: Mapping[str, Any], start_build: Callable[[dict[str, str]], str]
) -> tuple[str, dict[str, str], str]:
    """(status, data, reason) for a CloudFormation custom-resource event."""
    props = event.get("ResourceProperties") or {}
    if event.get("RequestType") == "Delete":
        return "SUCCESS", {}, "use cases are offboarded by a change to usecases/, not by delete"
    name = str(props.get("UseCaseName", ""))
    email = str(props.get("OwnerEmail", ""))
    if len(name) > NAME_MAX or not re.fullmatch(NAME_PATTERN, name):
        return (
            "FAILED",
            {},
            (
                f"UseCaseName {name!r} is invalid: use lower-case letters, digits, single hyphens, "
                f"at most {NAME_MAX} characters"
            ),
        )
    if not re.fullmatch(EMAIL_PATTERN, email):
        return "FAILED", {}, f"OwnerEmail {email!r} is not an e-mail address"
    env = {
        "USECASE_NAME": name,
        "TEMPLATE": str(props.get("Template", "")),
        "TEMPLATE_VERSION": str(props.get("TemplateVersion", "")),
        "OWNER_EMAIL": email,
        "DESCRIPTION": str(props.get("Description", "")),
        "SAGEMAKER_PROJECT_ID": str(props.get("ProjectId", "")),
    }
    build_id = start_build(env)
    return "SUCCESS", {"BuildId": build_id}, f"onboarding build {build_id} started"


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

    physical = event.get("PhysicalResourceId") or f"onboarding-{event['RequestId']}"
    try:
        status, data, reason = handle(event, start_build)
    except Exception as exc:  # report every failure to CloudFormation instead of hanging the stack
        status, data, reason = "FAILED", {}, f"onboarding could not start: {exc}"
    respond(event, status, data, reason, physical)
