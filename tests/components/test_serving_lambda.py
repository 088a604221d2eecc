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


def test_managed_secrets_are_created_once_and_read_only_by_their_functions(pulumi_mocks):
    specs = [
        FunctionSpec(role="encode", handler="h.encode"),
        FunctionSpec(role="market", handler="h.market", in_vpc=False,
                     managed_secrets={"API_KEY_SECRET": "valuation-api-key"}),
        FunctionSpec(role="decide", handler="h.decide",
                     managed_secrets={"PSEUDO_SECRET": "pseudonymisation-key"}),
    ]  # fmt: skip
    run(lambda: InferenceService("remedy-serving", args(functions=specs)))
    secrets = {
        s.inputs["name"]: s for s in pulumi_mocks.of_type("aws:secretsmanager/secret:Secret")
    }
    assert set(secrets) == {
        "mlops-dev-remedy-valuation-api-key",
        "mlops-dev-remedy-pseudonymisation-key",
    }
    for secret in secrets.values():
        assert secret.inputs["kmsKeyId"] == KEY, secret.name
        assert "out of band" in secret.inputs["description"], secret.name
    assert not pulumi_mocks.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    fns = {
        f.inputs["handler"]: f.inputs for f in pulumi_mocks.of_type("aws:lambda/function:Function")
    }
    api_key = secrets["mlops-dev-remedy-valuation-api-key"].state["arn"]
    assert fns["h.market"]["environment"]["variables"]["API_KEY_SECRET"] == api_key
    assert fns["h.market"].get("vpcConfig") is None
    assert fns["h.decide"]["vpcConfig"]["subnetIds"] == ["subnet-a"]
    assert "API_KEY_SECRET" not in fns["h.decide"]["environment"]["variables"]
    policies = {
        p.name: p.inputs["policy"] for p in pulumi_mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    assert api_key in policies["remedy-serving-market-policy"]
    assert api_key not in policies["remedy-serving-decide-policy"]
    assert "secretsmanager" not in policies["remedy-serving-encode-policy"]


def test_managed_secret_names_are_validated():
    with pytest.raises(ValueError, match="managed_secrets"):
        FunctionSpec(role="decide", handler="h", managed_secrets={"lower": "Key"})
