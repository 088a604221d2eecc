"""InferenceService's Lambdas: one architecture, the dependency layer published for it, and the
deploy build that makes the layer."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest
import yaml

from mlops.components.serving import FunctionSpec, InferenceService, InferenceServiceArgs
from mlops.delivery import buildspecs
from mlops.naming import NameContext
from mlops.testing.mocks import run
from mlops.usecases import ServerlessEndpoint

KEY = "arn:aws:kms:eu-west-2:111111111111:key/stack"
LAYER = "arn:aws:lambda:eu-west-2:111111111111:layer:extra:3"


def args(**overrides) -> InferenceServiceArgs:
    base = InferenceServiceArgs(
        usecase="remedy",
        names=NameContext("dev", "111111111111", "eu-west-2"),
        tags={"owner": "o", "cost-centre": "c", "data-classification": "confidential"},
        endpoint=ServerlessEndpoint(mode="serverless"),
        functions=[
            FunctionSpec(role=r, handler=f"remedy_inference.handlers.{r}.handler")
            for r in ("encode", "market", "decide")
        ],
        code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("x = 1\n")}),
        layer_code=pulumi.AssetArchive({"python/dep.py": pulumi.StringAsset("y = 2\n")}),
        kms_key_arn=KEY,
        subnet_ids=["subnet-a"],
        security_group_ids=["sg-lambda"],
        layers=[LAYER],
    )
    return dataclasses.replace(base, **overrides)


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_dependency_layer_is_published_for_the_functions_architecture(pulumi_mocks, architecture):
    run(lambda: InferenceService("remedy-serving", args(architecture=architecture)))
    (layer,) = pulumi_mocks.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layer.inputs["layerName"] == "mlops-dev-remedy-deps"
    assert layer.inputs["compatibleArchitectures"] == [architecture]
    assert layer.inputs["compatibleRuntimes"] == ["python3.12"]
    fns = pulumi_mocks.of_type("aws:lambda/function:Function")
    assert len(fns) == 3
    for fn in fns:
        assert fn.inputs["architectures"] == [architecture], fn.name
        assert fn.inputs["runtime"] == "python3.12", fn.name
        assert fn.inputs["layers"][0] == layer.state["arn"], fn.name
        assert fn.inputs["layers"][1:] == [LAYER], fn.name


def test_without_layer_code_only_the_given_layers_are_used(pulumi_mocks):
    run(lambda: InferenceService("remedy-serving", args(layer_code=None)))
    assert not pulumi_mocks.of_type("aws:lambda/layerVersion:LayerVersion")
    for fn in pulumi_mocks.of_type("aws:lambda/function:Function"):
        assert fn.inputs["layers"] == [LAYER], fn.name


def test_architecture_and_layer_count_are_validated():
    with pytest.raises(ValueError, match=r"architecture 'amd64' must be one of"):
        args(architecture="amd64")
    with pytest.raises(ValueError, match="at most 5 layers"):
        args(layers=[LAYER] * 5)


def test_deploy_build_makes_the_lambda_packages_before_pulumi_up():
    build = yaml.safe_load(buildspecs.deploy())["phases"]["build"]["commands"]
    package = build.index(buildspecs.LAMBDA_PACKAGE)
    up = next(i for i, c in enumerate(build) if c.startswith("pulumi up"))
    assert package < up
    assert "lambda-package build/lambda" in buildspecs.LAMBDA_PACKAGE
