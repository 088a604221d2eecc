"""Pulumi entry point (Pulumi.yaml: main: infra/). Thin: settings from config, one component."""

import pulumi

from tabular_inference.infra import build, settings_from_config

service = build(settings_from_config(pulumi.Config(), pulumi.get_stack()))
pulumi.export("invoke_url", service.invoke_url)
pulumi.export("model_deployed", service.endpoint is not None)
