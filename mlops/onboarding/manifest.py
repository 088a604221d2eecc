"""The use-case manifest (``usecases/<name>.yaml``) that onboarding writes from the answers."""

from __future__ import annotations

from typing import Any

from mlops.onboarding.templates import TemplateInfo


def _studio_user(email: str) -> str:
    local = email.split("@", 1)[0].lower()
    user = "".join(c if c.isalnum() else "-" for c in local).strip("-")
    return user[:63] or "owner"


def build_manifest(
    info: TemplateInfo, answers: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, Any]:
    """The `usecases/<name>.yaml` document for these answers (validated by mlops.usecases)."""
    name = answers["usecase_name"]
    serverless = {"mode": "serverless", "memory_mb": 2048, "max_concurrency": 5}
    data: dict[str, Any] = {
        "name": name,
        "description": answers.get("description", ""),
        "template": info.name,
        "template_version": info.version,
        "owners": {"lead_data_scientist": _studio_user(answers["owner_email"]), "members": []},
        "git": {
            "provider": "github",
            "training_repo": f"{name}-training",
            "inference_repo": f"{name}-inference",
            "branch": "main",
        },
        "evaluation": {
            "metric": answers["eval_metric"],
            "threshold": answers["eval_threshold"],
            "direction": answers.get(
                "eval_direction", info.gate_metrics.get(answers["eval_metric"], "maximize")
            ),
        },
        "tuning": {
            "max_jobs": answers["tuning_max_jobs"],
            "max_parallel": answers["tuning_max_parallel"],
        },
        "data_classification": "confidential",
        "stacks": {
            "dev": {"endpoint": serverless},
            "staging": {"endpoint": serverless},
            "prod": {
                "endpoint": {
                    "mode": "realtime",
                    "instance_type": "ml.m5.large",
                    "min_instances": 2,
                    "max_instances": 4,
                }
            },
        },
    }
    if info.analytics:  # the template's analytics entry points (template_analytics)
        data["analytics"] = dict(info.analytics)
    if "training_instance_type" in answers:
        for stack in data["stacks"].values():
            stack["training_instance_type"] = answers["training_instance_type"]
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def manifest_text(data: dict[str, Any], source: str, info: TemplateInfo) -> str:
    from mlops.usecases import dump_manifest, parse_manifest

    manifest = parse_manifest(data, source)
    manifest.check_against_template(info.gate_metrics, source)
    return dump_manifest(manifest)
