"""The deploy builds: Snowflake's private key reaches the build only when the stage's config names a
Snowflake account, from Secrets Manager (moto), never as a plaintext environment variable; the
builds run on the functions' Python (the layer they build and the handlers they import)."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest
import yaml
from components.usecase_helpers import build, manifest
from moto import mock_aws

from mlops.components.serving import InferenceServiceArgs
from mlops.config import StackConfig
from mlops.delivery import buildspecs
from mlops.delivery.deploy import snowflake_configured, snowflake_key
from mlops.delivery.promotion import PromotionError
from mlops.rehearsal.evaluator import identity_decision
from mlops.testing.mocks import RecordingMocks, policy_documents, run

ROOT = Path(__file__).resolve().parents[2]
SECRET = "mlops-dev-remedy-snowflake-private-key"
PEM = "-----BEGIN " + "PRIVATE KEY-----\nMIIEvQ\n-----END " + "PRIVATE KEY-----\n"
ON = {"config": {"remedy-inference:analytics": {"snowflake": {"account": "MYORG-ANALYTICS"}}}}
OFF = {"config": {"remedy-inference:analytics": {"transformLambda": True}}}


def test_snowflake_is_configured_only_when_the_stage_names_an_account() -> None:
    assert snowflake_configured(yaml.safe_dump(ON))
    assert not snowflake_configured(yaml.safe_dump(OFF))
    assert not snowflake_configured("config: {}\n")
    kept_off = {"config": {"x:analytics": {"snowflake": {"account": "A-B", "enabled": False}}}}
    assert not snowflake_configured(yaml.safe_dump(kept_off))


class _Refuses:
    def get_secret_value(self, **_):
        raise AssertionError("the key must not be read when Snowflake is not configured")


def test_no_snowflake_no_key(tmp_path) -> None:
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(yaml.safe_dump(OFF))
    assert snowflake_key(_Refuses(), stack, SECRET) == ""
    assert snowflake_key(_Refuses(), tmp_path / "Pulumi.none.yaml", SECRET) == ""


def test_the_key_comes_from_secrets_manager_when_snowflake_is_on(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(yaml.safe_dump(ON))
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-west-2")
        secrets.create_secret(Name=SECRET)
        with pytest.raises(PromotionError) as exc:  # created by the platform, no value yet
            snowflake_key(secrets, stack, SECRET)
        assert SECRET in str(exc.value) and "put-secret-value" in exc.value.fix
        secrets.put_secret_value(SecretId=SECRET, SecretString="not a key")
        with pytest.raises(PromotionError, match="does not hold a PEM private key"):
            snowflake_key(secrets, stack, SECRET)
        secrets.put_secret_value(SecretId=SECRET, SecretString=PEM)
        assert snowflake_key(secrets, stack, SECRET) == PEM


def test_the_deploy_build_exports_the_key_only_from_the_helper() -> None:
    spec = yaml.safe_load(buildspecs.deploy())
    build_cmds = spec["phases"]["build"]["commands"]
    helper = next(i for i, c in enumerate(build_cmds) if "deploy snowflake-key" in c)
    up = next(i for i, c in enumerate(build_cmds) if c.startswith("pulumi up"))
    assert helper < up
    assert "SNOWFLAKE_PRIVATE_KEY" in build_cmds[helper + 1]
    assert "SNOWFLAKE_PRIVATE_KEY" not in yaml.safe_dump(spec.get("env", {}))


def test_the_deploy_builds_run_on_the_functions_python() -> None:
    runtime = InferenceServiceArgs.__dataclass_fields__["runtime"].default
    template = (ROOT / "templates/remedy/inference/src/remedy_inference/infra.py").read_text()
    (template_runtime,) = re.findall(r'^LAMBDA_RUNTIME = "(python[\d.]+)"', template, re.M)
    assert runtime == template_runtime == f"python{buildspecs.DEPLOY_PYTHON}"
    for spec in (buildspecs.deploy(), buildspecs.smoke_test()):
        install = yaml.safe_load(spec)["phases"]["install"]
        assert install["runtime-versions"] == {"python": buildspecs.DEPLOY_PYTHON}


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_the_deploy_build_reads_only_its_own_snowflake_secret(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy"), manifest("peer")]))
    (secret,) = [
        r for r in pulumi_mocks.of_type("aws:secretsmanager/secret:Secret")
        if r.inputs["name"] == SECRET
    ]  # fmt: skip
    assert secret.inputs["kmsKeyId"].endswith(":key/artifacts")
    assert "secretString" not in secret.inputs  # the value is set out of band
    docs = dict(policy_documents(pulumi_mocks.resources))
    deploy_build = docs["usecase-remedy-deploy-build-policy.policy"]
    acct, region = stack_config.account_id, stack_config.region
    mine = f"arn:aws:secretsmanager:{region}:{acct}:secret:{SECRET}"
    peer = f"arn:aws:secretsmanager:{region}:{acct}:secret:mlops-dev-peer-snowflake-private-key"
    (grant,) = [s for s in deploy_build["Statement"] if s["Sid"] == "ReadOwnDeploySecrets"]
    assert grant["Resource"] == secret.state["arn"]
    assert (
        identity_decision([deploy_build], "secretsmanager:GetSecretValue", secret.state["arn"])
        == "Allow"
    )
    assert (
        identity_decision([deploy_build], "secretsmanager:GetSecretValue", peer) == "ImplicitDeny"
    )
    assert mine in secret.state["arn"]
    project = next(
        r for r in pulumi_mocks.of_type("aws:codebuild/project:Project")
        if r.inputs["name"] == "mlops-dev-remedy-deploy"
    )  # fmt: skip
    env = {v["name"]: v for v in project.inputs["environment"]["environmentVariables"]}
    assert env["SNOWFLAKE_KEY_SECRET_ID"]["value"] == SECRET
    assert "SNOWFLAKE_PRIVATE_KEY" not in env
