"""The repo's Pulumi program under mocks: dev/staging/prod, with and without an approved model."""

from __future__ import annotations

import json

import pulumi
import pytest
from mlops.testing.mocks import RecordingMocks, install, run

from remedy_inference import usecase
from remedy_inference.infra import (
    FUNCTION_DIR,
    HEALTH_HANDLER,
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    LAYER_DIR,
    InferenceSettings,
    build,
    lambda_code,
    settings_from_config,
)

ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
PACKAGE = "arn:aws:sagemaker:eu-west-2:111111111111:model-package/remedy-models/4"


class FakeConfig:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def get_int(self, key: str) -> int | None:
        value = self.values.get(key)
        return None if value is None else int(value)

    def get_object(self, key: str):
        value = self.values.get(key)
        return None if value is None else json.loads(value)

    def require(self, key: str) -> str:
        if key not in self.values:
            raise KeyError(key)
        return self.values[key]


def platform_outputs(env: str) -> dict:
    acct = ACCOUNTS[env]
    return {
        "account_id": acct,
        "artifacts_key_arn": f"arn:aws:kms:eu-west-2:{acct}:key/artifacts",
        "logs_key_arn": f"arn:aws:kms:eu-west-2:{acct}:key/logs",
        "data_key_arn": f"arn:aws:kms:eu-west-2:{acct}:key/data",
        "private_subnet_ids": ["subnet-1", "subnet-2"],
        "sagemaker_security_group_id": "sg-sagemaker",
        "artifacts_bucket": f"mlops-{env}-model-artifacts",
        "registered_models_bucket": "mlops-dev-model-artifacts-111111111111-eu-west-2",
        "registered_models_key_arn": "arn:aws:kms:eu-west-2:111111111111:key/artifacts",
        "data_bucket": f"mlops-{env}-data",
        "analytics_landing_bucket": f"mlops-{env}-analytics-landing",
        "access_logs_bucket": f"mlops-{env}-access-logs",
    }


VALUATION = "https://valuation-api.example.com"


def deploy(env: str, model: str | None, **extra: str) -> RecordingMocks:
    ref = f"organization/mlops-platform/{env}"
    mocks = RecordingMocks(account_id=ACCOUNTS[env], stack_outputs={ref: platform_outputs(env)})
    install(mocks, env, {}, project=f"{usecase.USECASE_NAME}-inference")
    config = {"accountId": ACCOUNTS[env], "platformStack": ref, **extra}
    if env != "dev":
        config.setdefault("valuationUrl", VALUATION)
    if model:
        config["modelPackageArn"] = model
    settings = settings_from_config(FakeConfig(config), env)
    code = pulumi.AssetArchive({"x.py": pulumi.StringAsset("x = 1\n")})
    run(lambda: build(settings, code=code))
    return mocks


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("model", [PACKAGE, None], ids=["model", "no-model"])
def test_stack_builds(env, model):
    mocks = deploy(env, model)
    endpoints = mocks.of_type("aws:sagemaker/endpoint:Endpoint")
    assert len(endpoints) == (1 if model else 0)
    sm = mocks.of_type("aws:sfn/stateMachine:StateMachine")[0].inputs
    first = json.loads(sm["definition"])["States"]["Enrich"]["Branches"][0]["StartAt"]
    assert first == ("Predict" if model else "ModelNotDeployed")
    fns = [
        f
        for f in mocks.of_type("aws:lambda/function:Function")
        if f.inputs["handler"] != HEALTH_HANDLER
    ]  # the decide path's functions; the prod health job: its own test
    assert sorted(f.inputs["handler"].split(".")[-2] for f in fns) == ["decide", "encode", "market"]
    (layer,) = [layer for layer in mocks.of_type("aws:lambda/layerVersion:LayerVersion")
                if layer.inputs["layerName"].endswith("-deps")]  # fmt: skip
    assert layer.inputs["compatibleArchitectures"] == [LAMBDA_ARCHITECTURE]
    assert layer.inputs["compatibleRuntimes"] == [LAMBDA_RUNTIME]
    for f in fns:
        assert f.inputs["architectures"] == [LAMBDA_ARCHITECTURE], f.name
        assert f.inputs["runtime"] == LAMBDA_RUNTIME and f.inputs["layers"] == [layer.state["arn"]]
        assert f.inputs["environment"]["variables"]["REMEDY_JURISDICTION"] == usecase.JURISDICTION
        assert f.inputs["kmsKeyArn"].endswith(":key/artifacts")
    schema = json.loads(mocks.of_type("aws:apigateway/model:Model")[0].inputs["schema"])
    assert {"claim_id", "vehicle", "accident"} <= set(schema["required"])
    for group in mocks.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"].endswith((":key/logs", ":key/data")), group.name
    # the decide Lambda's audit events stream to the platform's analytics landing bucket
    (subscription,) = mocks.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
    decide_group = next(
        g for g in mocks.of_type("aws:cloudwatch/logGroup:LogGroup") if "decide" in g.name
    )
    assert subscription.inputs["logGroup"] == decide_group.inputs["name"]
    (stream,) = mocks.of_type("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
    s3 = stream.inputs["extendedS3Configuration"]
    assert s3["bucketArn"] == f"arn:aws:s3:::mlops-{env}-analytics-landing"
    assert s3["errorOutputPrefix"]
    if env == "prod" and model:
        target = mocks.of_type("aws:appautoscaling/target:Target")[0].inputs
        assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
        config = mocks.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")[0]
        capture = config.inputs["dataCaptureConfig"]
        assert capture["kmsKeyId"].endswith(":key/data")
        assert capture["destinationS3Uri"].startswith("s3://mlops-prod-data/")


def test_the_functions_deploy_the_byte_compiled_package_the_deploy_build_writes():
    # `lambda-package build/lambda` writes <out>/function (pycs for the runtime) and <out>/layer;
    # deploying src/ instead would make every cold start compile the sources again
    archive = lambda_code()
    assert {name: asset.path for name, asset in archive.assets.items()} == {
        "remedy_inference": f"{FUNCTION_DIR}/remedy_inference",
        "remedy_core": f"{FUNCTION_DIR}/remedy_core",
    }
    assert FUNCTION_DIR.rsplit("/", 1)[0] == LAYER_DIR.rsplit("/", 1)[0] == "build/lambda"


def test_where_it_cannot_decide_the_api_answers_investigate_for_a_handler():
    """The platform's answers are generic; Remedy passes its own: a handler must
    assess the claim. Byte for byte what the deployed workflow and API carried before."""
    mocks = deploy("dev", PACKAGE)
    (sm,) = mocks.of_type("aws:sfn/stateMachine:StateMachine")
    assert json.loads(sm.inputs["definition"])["States"]["DecideFailed"]["Result"] == {
        "recommendation": "investigate",
        "decided_by": "MISSING_EVIDENCE",
        "confidence": 1.0,
        "reasons": [
            {
                "rule": "MISSING_EVIDENCE",
                "code": "DECISION_SERVICE_ERROR",
                "sentence": "The decision service failed: a handler must assess this claim.",
            }
        ],
    }
    (mapping,) = mocks.of_type("aws:apigateway/integrationResponse:IntegrationResponse")
    template = mapping.inputs["responseTemplates"]["application/json"]
    assert template.endswith(
        '#else\n{"recommendation": "investigate", "decided_by": "MISSING_EVIDENCE", '
        '"confidence": 1.0,\n "reasons": [{"rule": "MISSING_EVIDENCE", "code": '
        '"WORKFLOW_$r.status",\n "sentence": "The decision workflow did not complete: a handler '
        'must assess this claim."}]}\n#end'
    )
    (bad,) = mocks.of_type("aws:apigateway/response:Response")
    assert bad.inputs["responseTemplates"]["application/json"] == (
        '{"detail": "invalid claim", "errors": '
        '"$util.escapeJavaScript($context.error.validationErrorString)"}'
    )


def test_settings_defaults_per_stack():
    dev = settings_from_config(FakeConfig({"accountId": "1" * 12, "platformStack": "p"}), "dev")
    prod = settings_from_config(
        FakeConfig({"accountId": "3" * 12, "platformStack": "p", "valuationUrl": VALUATION}), "prod"
    )
    assert dev.endpoint_mode == "serverless" and prod.endpoint_mode == "realtime"
    assert (prod.min_instances, prod.max_instances) == (2, 6)
    assert dev.model_package_arn is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"environment": "qa"}, "environment must be one of"),
        ({"account_id": "123"}, "accountId must be 12 digits"),
        ({"endpoint_mode": "batch"}, "endpointMode"),
        ({"model_package_arn": "arn:aws:s3:::nope"}, "modelPackageArn"),
    ],
)
def test_bad_settings_name_the_setting(kwargs, message):
    base = {"environment": "dev", "account_id": "111111111111", "platform_stack": "p"}
    with pytest.raises(ValueError, match=message):
        InferenceSettings(**{**base, **kwargs})


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_outside_dev_a_missing_valuation_url_fails_the_deploy(env):
    config = FakeConfig({"accountId": ACCOUNTS[env], "platformStack": "p"})
    with pytest.raises(ValueError, match=f"valuationUrl is required in {env}.*synthetic"):
        settings_from_config(config, env)
    with pytest.raises(ValueError, match="must be an https:// URL"):
        settings_from_config(
            FakeConfig({**config.values, "valuationUrl": "http://plain.example.com"}), env
        )
    # dev may run on the synthetic market
    dev = FakeConfig({"accountId": ACCOUNTS["dev"], "platformStack": "p"})
    assert settings_from_config(dev, "dev").valuation_url is None


def _functions(mocks: RecordingMocks) -> dict[str, dict]:
    """The decide path's functions by step (not the prod health job)."""
    return {
        f.inputs["handler"].split(".")[-2]: f.inputs
        for f in mocks.of_type("aws:lambda/function:Function")
        if f.inputs["handler"] != HEALTH_HANDLER
    }


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_prod_schedules_the_model_health_job_with_both_layers(env):
    mocks = deploy(env, PACKAGE)
    jobs = [f for f in mocks.of_type("aws:lambda/function:Function")
            if f.inputs["handler"] == HEALTH_HANDLER]  # fmt: skip
    schedules = mocks.of_type("aws:scheduler/schedule:Schedule")
    if env != "prod":
        assert (jobs, schedules) == ([], [])
        return
    (job,), (schedule,) = jobs, schedules
    layers = {x.inputs["layerName"]: x.state["arn"]
              for x in mocks.of_type("aws:lambda/layerVersion:LayerVersion")}  # fmt: skip
    uc = usecase.USECASE_NAME
    assert job.inputs["layers"] == [
        layers[f"mlops-prod-{uc}-deps"],
        layers[f"mlops-prod-{uc}-analytics"],
    ]
    assert job.inputs["vpcConfig"]["subnetIds"] and job.inputs["architectures"] == [
        LAMBDA_ARCHITECTURE]  # fmt: skip
    assert job.inputs["environment"]["variables"]["HEALTH_USECASE"] == uc
    assert schedule.inputs["target"]["arn"] == job.state["arn"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_market_data_egress_and_the_secrets_the_program_creates(env):
    mocks = deploy(env, None)
    fns = _functions(mocks)
    # the market-data step reaches the valuation API from Lambda's network, nothing else in VPC
    assert fns["market"].get("vpcConfig") is None
    assert fns["encode"]["vpcConfig"]["subnetIds"] and fns["decide"]["vpcConfig"]["subnetIds"]
    secrets = {s.inputs["name"]: s for s in mocks.of_type("aws:secretsmanager/secret:Secret")}
    uc = usecase.USECASE_NAME
    pseudo = f"mlops-{env}-{uc}-pseudonymisation-key"
    expected = {pseudo} | ({f"mlops-{env}-{uc}-valuation-api-key"} if env != "dev" else set())
    assert set(secrets) == expected
    for secret in secrets.values():
        assert secret.inputs["kmsKeyId"].endswith(":key/artifacts"), secret.name
    assert not mocks.of_type("aws:secretsmanager/secretVersion:SecretVersion")  # out of band
    variables = {role: f["environment"]["variables"] for role, f in fns.items()}
    assert all(v["REMEDY_STAGE"] == env for v in variables.values())
    assert variables["decide"]["REMEDY_PSEUDONYMISATION_SECRET_ID"] == secrets[pseudo].state["arn"]
    assert "REMEDY_VALUATION_URL" not in variables["encode"] | variables["decide"]
    policies = {
        p.name: json.loads(p.inputs["policy"])
        for p in mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    decide = next(d for n, d in policies.items() if n.endswith("-decide-policy"))
    read = next(s for s in decide["Statement"] if s["Sid"] == "Secrets")
    assert read["Resource"] in (secrets[pseudo].state["arn"], [secrets[pseudo].state["arn"]])
    if env != "dev":
        key = secrets[f"mlops-{env}-{uc}-valuation-api-key"].state["arn"]
        assert variables["market"]["REMEDY_VALUATION_URL"] == VALUATION
        assert variables["market"]["REMEDY_VALUATION_SECRET_ID"] == key
        market = next(d for n, d in policies.items() if n.endswith("-market-policy"))
        assert next(s for s in market["Statement"] if s["Sid"] == "Secrets")["Resource"] in (
            key,
            [key],
        )


def test_a_configured_secret_replaces_the_one_the_program_creates():
    arn = "arn:aws:secretsmanager:eu-west-2:222222222222:secret:shared-pseudo-AbCdEf"
    mocks = deploy("staging", None, pseudonymisationSecretId=arn)
    names = {s.inputs["name"] for s in mocks.of_type("aws:secretsmanager/secret:Secret")}
    assert names == {f"mlops-staging-{usecase.USECASE_NAME}-valuation-api-key"}
    variables = _functions(mocks)["decide"]["environment"]["variables"]
    assert variables["REMEDY_PSEUDONYMISATION_SECRET_ID"] == arn


SNOWFLAKE = {
    "transformLambda": True,
    "snowflake": {
        "account": "myorg-analytics",
        "database": "MLOPS",
        "awsIamUserArn": "arn:aws:iam::999999999999:user/abc0-s-xyz",
        "externalId": "mlops-prod-claims-ingest",
    },
}


def test_snowflake_ingest_is_off_by_default():
    mocks = deploy("prod", None)
    assert not [r for r in mocks.resources if r.type.startswith("snowflake:")]


def test_naming_a_snowflake_account_wires_the_ingest():
    mocks = deploy("prod", None, analytics=json.dumps(SNOWFLAKE))
    (provider,) = mocks.of_type("pulumi:providers:snowflake")
    assert (provider.inputs["organizationName"], provider.inputs["accountName"]) == (
        "MYORG",
        "ANALYTICS",
    )
    (integration,) = mocks.of_type("snowflake:index/storageIntegrationAws:StorageIntegrationAws")
    assert integration.inputs["storageAwsExternalId"] == "mlops-prod-claims-ingest"
    role = next(r for r in mocks.of_type("aws:iam/role:Role") if r.name.endswith("snowflake-role"))
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::999999999999:user/abc0-s-xyz"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "mlops-prod-claims-ingest"}}
    assert mocks.of_type("snowflake:index/pipe:Pipe") and mocks.of_type("snowflake:index/view:View")
    assert mocks.of_type("aws:lambda/function:Function")  # the transformation Lambda too
    assert any("analytics-transform" in f.inputs["name"]
               for f in mocks.of_type("aws:lambda/function:Function"))  # fmt: skip
    transform_logs = next(
        g for g in mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"].endswith("-analytics-transform")
    )  # fmt: skip
    assert transform_logs.inputs["kmsKeyId"].endswith(":key/logs")  # admits /aws/lambda groups


def test_analytics_config_errors_name_the_key():
    bad = {"transformLambda": True, "snowflake": {"account": "myorg-analytics"}}
    config = FakeConfig(
        {"accountId": ACCOUNTS["prod"], "platformStack": "p", "valuationUrl": VALUATION,
         "analytics": json.dumps(bad)}
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"analytics\.snowflake: .*awsIamUserArn"):
        settings_from_config(config, "prod")


REALTIME = {"endpointMode": "realtime"}


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_only_prod_gets_data_quality_monitoring_and_model_health_alarms(env):
    mocks = deploy(env, PACKAGE, **REALTIME)
    assert mocks.of_type("aws:sagemaker/monitoringSchedule:MonitoringSchedule") == []
    assert [
        t for t in mocks.of_type("aws:sns/topic:Topic") if "model-health" in t.inputs["name"]
    ] == []


def test_prod_monitors_data_quality_and_notifies_the_lead():
    mocks = deploy("prod", PACKAGE, **REALTIME)
    (schedule,) = mocks.of_type("aws:sagemaker/monitoringSchedule:MonitoringSchedule")
    assert schedule.inputs["monitoringScheduleConfig"]["monitoringType"] == "DataQuality"
    (job,) = mocks.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    (endpoint,) = mocks.of_type("aws:sagemaker/endpoint:Endpoint")
    assert (
        job.inputs["dataQualityJobInput"]["endpointInput"]["endpointName"]
        == (endpoint.inputs["name"])
    )
    model_role = next(r for r in mocks.of_type("aws:iam/role:Role")
                      if r.inputs.get("name", "").endswith("-model"))  # fmt: skip
    assert job.inputs["roleArn"] == model_role.state["arn"]
    assert job.inputs["networkConfig"]["vpcConfig"]["subnets"] == ["subnet-1", "subnet-2"]
    (topic,) = [
        t for t in mocks.of_type("aws:sns/topic:Topic") if "model-health" in t.inputs["name"]
    ]
    assert topic.inputs["kmsMasterKeyId"].endswith(":key/logs")
    subs = mocks.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert usecase.OWNER_EMAIL in [s.inputs["endpoint"] for s in subs]
    drift = [a for a in mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
             if a.inputs.get("metricName", "").startswith("feature_baseline_drift_")]  # fmt: skip
    assert drift and all(a.inputs["alarmActions"] == [topic.state["arn"]] for a in drift)
    assert not [
        r for r in mocks.of_type("aws:cloudwatch/eventRule:EventRule") if "retrain" in r.name
    ]


def test_the_retrain_switch_wires_the_training_pipeline_in_prod():
    pipeline = "arn:aws:sagemaker:eu-west-2:333333333333:pipeline/mlops-prod-remedy-training"
    mocks = deploy("prod", PACKAGE, modelHealth=json.dumps({"retrainPipelineArn": pipeline}),
                   **REALTIME)  # fmt: skip
    (target,) = [t for t in mocks.of_type("aws:cloudwatch/eventTarget:EventTarget")
                 if "retrain" in t.name]  # fmt: skip
    assert target.inputs["arn"] == pipeline
