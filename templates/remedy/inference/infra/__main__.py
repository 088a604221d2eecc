"""Pulumi entry point (Pulumi.yaml: main: infra/). Thin: settings from config, one component."""

import pulumi

from remedy_inference.infra import build, settings_from_config

service = build(settings_from_config(pulumi.Config(), pulumi.get_stack()))
pulumi.export("invoke_url", service.invoke_url)
pulumi.export("state_machine_arn", service.state_machine.arn)
pulumi.export("model_deployed", service.endpoint is not None)
