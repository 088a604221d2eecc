"""InferenceService under Pulumi mocks, for dev, staging and prod, with and without a model."""

from __future__ import annotations

import json

import pulumi
import pytest

from mlops.components.serving import FunctionSpec, InferenceService, InferenceServiceArgs
from mlops.config import StackConfig
from mlops.inference import serving_docs
from mlops.inference.fallback import FallbackResponses
from mlops.naming import NameContext
from mlops.policy.check import check_resources
from mlops.tags import REQUIRED_TAGS, base_tags
from mlops.testing.mocks import RecordingMocks, run
from mlops.usecases import USECASES_DIR, RealtimeEndpoint, load_manifest

KEY = "arn:aws:kms:eu-west-2:111111111111:key/stack"
LOG_KEY = "arn:aws:kms:eu-west-2:111111111111:key/logs"
DATA_KEY = "arn:aws:kms:eu-west-2:111111111111:key/data"
PACKAGE = "arn:aws:sagemaker:eu-west-2:111111111111:model-package/mlops-dev-remedy-models/3"
SCHEMA = {
    "type": "object",
    "required": ["claim_id"],
    "properties": {"claim_id": {"type": "string", "minLength": 1}, "v": {"$ref": "#/$defs/V"}},
    "$defs": {"V": {"type": "object", "properties": {"year": {"type": "integer"}}}},
}


def functions() -> list[FunctionSpec]:
    return [
        FunctionSpec(role=r, handler=f"remedy_inference.handlers.{r}.handler")
        for r in ("encode", "market", "decide")
    ]


#: Remedy's model-health metrics as its inference program passes them (checked against the template
#: by tests/components/test_serving_dashboard.py)
HEALTH_METRICS = (
    "RepairCostIntervalCoverage", "RepairCostBias", "RepairCostMAE", "PavWithin10Pct",
    "WrongWriteOffRate", "TotalLossECE",
)  # fmt: skip


def build(
    cfg: StackConfig,
    model: bool,
    package: str = PACKAGE,
    investigate_share: float | None = 0.25,
    health_metrics: tuple[str, ...] = HEALTH_METRICS,
    fallback: FallbackResponses | None = None,
) -> InferenceService:
    manifest = load_manifest(USECASES_DIR / "remedy.yaml")
    return InferenceService(
        "remedy-serving",
        InferenceServiceArgs(
            usecase="remedy",
            names=NameContext(cfg.environment, cfg.account_id, cfg.region),
            tags=base_tags(cfg),
            endpoint=manifest.stacks.for_env(cfg.environment).endpoint,
            functions=functions(),
            code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("x = 1\n")}),
            kms_key_arn=KEY,
            subnet_ids=["subnet-a", "subnet-b"],
            security_group_ids=["sg-lambda"],
            model_package_arn=package if model else None,
            model_artifact_bucket_arn="arn:aws:s3:::mlops-dev-artifacts",
            model_artifact_kms_key_arn="arn:aws:kms:eu-west-2:111111111111:key/dev-artifacts",
            data_capture_bucket="mlops-prod-capture",
            data_capture_kms_key_arn=DATA_KEY,
            log_kms_key_arn=LOG_KEY,
            request_schema=SCHEMA,
            log_retention_days=cfg.retention.log_days,
            reserved_concurrency=manifest.stacks.for_env(cfg.environment).function_concurrency,
            decision_events=True,
            dashboard=True,
            health_metrics=health_metrics,
            investigate_alarm_share=investigate_share,  # Remedy emits investigate decisions
            **({"fallback": fallback} if fallback is not None else {}),
        ),
    )


def of(mocks: RecordingMocks, typ: str):
    return mocks.of_type(f"aws:{typ}")


@pytest.mark.parametrize("model", [True, False], ids=["model", "no-model"])
def test_inference_service_is_secure_for_every_stack(pulumi_mocks, stack_config, model):
    run(lambda: build(stack_config, model))
    m = pulumi_mocks
    env = stack_config.environment
    realtime = isinstance(
        load_manifest(USECASES_DIR / "remedy.yaml").stacks.for_env(env).endpoint, RealtimeEndpoint
    )
    # endpoint only with an approved model
    endpoints = of(m, "sagemaker/endpoint:Endpoint")
    assert len(endpoints) == (1 if model else 0), env
    if model:
        cfg = of(m, "sagemaker/endpointConfiguration:EndpointConfiguration")[0].inputs
        assert cfg["kmsKeyArn"] == KEY
        variant = cfg["productionVariants"][0]
        mdl = of(m, "sagemaker/model:Model")[0].inputs
        assert mdl["primaryContainer"]["modelPackageName"] == PACKAGE
        if realtime:
            assert variant["instanceType"] and "serverlessConfig" not in variant
            capture = cfg["dataCaptureConfig"]
            assert capture["enableCapture"] and capture["kmsKeyId"] == DATA_KEY
            assert mdl["enableNetworkIsolation"] is True and mdl["vpcConfig"]["subnets"]
            target = of(m, "appautoscaling/target:Target")[0].inputs
            assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
            assert of(m, "appautoscaling/policy:Policy")
        else:
            assert variant["serverlessConfig"]["memorySizeInMb"] in (2048, 3072)
            assert "dataCaptureConfig" not in cfg  # unsupported on serverless
            assert not of(m, "appautoscaling/target:Target")
    # Lambdas: VPC, KMS, tracing, own encrypted log group with retention
    fns = of(m, "lambda/function:Function")
    assert len(fns) == 3
    groups = {g.inputs["name"]: g.inputs for g in of(m, "cloudwatch/logGroup:LogGroup")}
    for fn in fns:
        i = fn.inputs
        assert i["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"], fn.name
        assert i["kmsKeyArn"] == KEY and i["tracingConfig"]["mode"] == "Active", fn.name
        group = groups[f"/aws/lambda/{i['name']}"]
        assert group["kmsKeyId"] == LOG_KEY, fn.name
        assert group["retentionInDays"] == stack_config.retention.log_days, fn.name
        assert i["loggingConfig"]["logGroup"] == f"/aws/lambda/{i['name']}", fn.name
        assert ("ENDPOINT_NAME" in i["environment"]["variables"]) == model, fn.name
    for name, g in groups.items():
        assert g["kmsKeyId"] == LOG_KEY, name
    # state machine: Express, logs ALL with execution data, encrypted, valid MODEL path
    sm = of(m, "sfn/stateMachine:StateMachine")[0].inputs
    assert sm["type"] == "EXPRESS"
    assert sm["loggingConfiguration"]["includeExecutionData"] is True
    assert sm["loggingConfiguration"]["level"] == "ALL"
    assert sm["encryptionConfiguration"]["kmsKeyId"] == KEY
    definition = json.loads(sm["definition"])
    branch = definition["States"]["Enrich"]["Branches"][0]
    assert branch["StartAt"] == ("Predict" if model else "ModelNotDeployed")
    # API: IAM auth, validator + model, throttling, access logs
    post = of(m, "apigateway/method:Method")[0].inputs
    assert post["authorization"] == "AWS_IAM" and post["requestValidatorId"]
    assert post["requestModels"] == {"application/json": "DecisionRequest"}
    validator = of(m, "apigateway/requestValidator:RequestValidator")[0].inputs
    assert validator["validateRequestBody"] is True
    bad = of(m, "apigateway/response:Response")[0].inputs
    assert bad["responseType"] == "BAD_REQUEST_BODY" and bad["statusCode"] == "400"
    assert "validationErrorString" in bad["responseTemplates"]["application/json"]
    settings = of(m, "apigateway/methodSettings:MethodSettings")[0].inputs["settings"]
    assert settings["throttlingRateLimit"] == 50 and settings["throttlingBurstLimit"] == 100
    stage = of(m, "apigateway/stage:Stage")[0].inputs
    assert stage["accessLogSettings"]["destinationArn"].startswith("arn:aws:logs:")
    integ = of(m, "apigateway/integration:Integration")[0].inputs
    assert integ["uri"].endswith(":states:action/StartSyncExecution")
    request_model = json.loads(of(m, "apigateway/model:Model")[0].inputs["schema"])
    assert "$defs" not in json.dumps(request_model)
    assert request_model["properties"]["v"]["properties"]["year"]["type"] == "integer"
    # alarms
    alarm_metrics = {
        a.inputs.get("metricName", "investigate-share")
        for a in of(m, "cloudwatch/metricAlarm:MetricAlarm")
    }
    expected = {
        "ExecutionsFailed", "ExecutionsTimedOut", "Errors", "5XXError", "Latency",
        "investigate-share",
    }  # fmt: skip
    if model:
        expected |= {"Invocation5XXErrors", "ModelLatency"}
    assert alarm_metrics == expected
    # business metric from the decide step's audit events
    filters = {f.inputs["metricTransformation"]["name"]: f.inputs for f in
               of(m, "cloudwatch/logMetricFilter:LogMetricFilter")}  # fmt: skip
    assert set(filters) == {"Decisions", "Investigations", "DecisionsByRecommendation"}
    assert '$.recommendation = "investigate"' in filters["Investigations"]["pattern"]
    assert all(f["logGroupName"].startswith("/aws/lambda/") for f in filters.values())
    share = next(a.inputs for a in of(m, "cloudwatch/metricAlarm:MetricAlarm") if
             a.inputs["name"].endswith("investigate-share"))  # fmt: skip
    assert share["threshold"] == 0.25
    assert share["metricQueries"][-1]["expression"] == "IF(all > 20, inv / all, 0)"
    # tags on every taggable resource, children parented to the component
    component = [r for r in m.resources if r.type == "mlops:serving:InferenceService"]
    assert len(component) == 1
    assert len([r for r in m.resources if r.type == "mlops:serving:DecisionApi"]) == 1
    endpoints_components = [r for r in m.resources if r.type == "mlops:serving:ModelEndpoint"]
    assert len(endpoints_components) == (1 if model else 0)
    names = [r.name for r in m.resources]
    assert len(names) == len(set(names)), "children named alike across types"
    for r in m.resources:
        if r.custom and "tags" in r.inputs:
            missing = [t for t in REQUIRED_TAGS if not r.inputs["tags"].get(t)]
            assert not missing, f"{r.name} lacks tags {missing}"
            assert r.inputs["tags"]["component"] == "serving", r.name


@pytest.mark.parametrize("model", [True, False], ids=["model", "no-model"])
def test_inference_service_passes_the_platform_policies(pulumi_mocks, stack_config, model):
    run(lambda: build(stack_config, model))
    result = check_resources(pulumi_mocks.resources, stack=stack_config.environment)
    mine = [v for v in result.violations if v.mandatory]
    assert not mine, "\n".join(f"{v.rule} {v.resource}: {v.message}" for v in mine)


def test_iam_is_least_privilege(pulumi_mocks, stack_config):
    run(lambda: build(stack_config, True))
    policies = {
        r.name: json.loads(r.inputs["policy"])
        for r in pulumi_mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    api = policies["remedy-serving-api-role-policy"]["Statement"]
    assert [s["Action"] for s in api] == ["states:StartSyncExecution"]
    assert api[0]["Resource"].endswith("remedy-decision-workflow")
    workflow = {s["Sid"]: s for s in policies["remedy-serving-workflow-policy"]["Statement"]}
    assert workflow["InvokeEndpoint"]["Resource"].startswith("arn:aws:sagemaker:")
    assert all("remedy" in arn for arn in workflow["InvokeWorkflowFunctions"]["Resource"])
    for name, doc in policies.items():
        for s in doc["Statement"]:
            assert s["Action"] != "*" and not str(s["Action"]).endswith(":*"), (name, s["Sid"])


def test_args_are_validated():
    with pytest.raises(ValueError, match="steps"):
        InferenceServiceArgs(
            usecase="remedy", names=NameContext("dev", "111111111111", "eu-west-2"), tags={},
            endpoint=RealtimeEndpoint(mode="realtime", instance_type="ml.c6i.large"),
            functions=functions()[:2], code=None, kms_key_arn=KEY, subnet_ids=[],
            security_group_ids=[],
        )  # fmt: skip
    with pytest.raises(ValueError, match="data_capture_bucket"):
        InferenceServiceArgs(
            usecase="remedy", names=NameContext("prod", "111111111111", "eu-west-2"), tags={},
            endpoint=RealtimeEndpoint(mode="realtime", instance_type="ml.c6i.large"),
            functions=functions(), code=None, kms_key_arn=KEY, subnet_ids=[],
            security_group_ids=[], model_package_arn=PACKAGE,
        )  # fmt: skip
    with pytest.raises(ValueError, match="memory_mb"):
        FunctionSpec(role="encode", handler="h", memory_mb=64)


# --- network interfaces only in the service's own subnets ---------------------------------------
def test_each_serving_function_has_the_manifests_reserved_concurrency(pulumi_mocks, stack_config):
    manifest = load_manifest(USECASES_DIR / "remedy.yaml")
    expected = manifest.stacks.for_env(stack_config.environment).function_concurrency
    run(lambda: build(stack_config, True))
    functions = of(pulumi_mocks, "lambda/function:Function")
    assert len(functions) == 3
    for fn in functions:
        assert fn.inputs["reservedConcurrentExecutions"] == expected, fn.name
    with pytest.raises(ValueError, match=r"reserved_concurrency 0 must be within 1\.\.900"):
        InferenceServiceArgs(
            usecase="remedy", names=NameContext("dev", "111111111111", "eu-west-2"), tags={},
            endpoint=manifest.stacks.dev.endpoint, functions=functions_specs(), code=None,
            kms_key_arn=KEY, subnet_ids=[], security_group_ids=[], reserved_concurrency=0,
        )  # fmt: skip


# --- the use case's fallback answers ------------------------------------------------------------
CUSTOM = FallbackResponses(
    decide_failed={"recommendation": "refer", "code": "DECISION_SERVICE_ERROR"},
    incomplete_template='{"recommendation": "refer",\n "code": "WORKFLOW_$r.status"}',
    invalid_request_detail="invalid order",
)


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
@pytest.mark.parametrize("fallback", [None, CUSTOM], ids=["default", "use-case"])
def test_where_it_cannot_decide_the_service_answers_the_fallback(
    pulumi_mocks, stack_config, fallback
):
    """The platform's generic answers by default; a use case's own, verbatim, in the workflow's
    DecideFailed state, the integration response's #else branch and the 400 body."""
    run(lambda: build(stack_config, True, fallback=fallback))
    expected = fallback or FallbackResponses()
    [sm] = of(pulumi_mocks, "sfn/stateMachine:StateMachine")
    decide_failed = json.loads(sm.inputs["definition"])["States"]["DecideFailed"]["Result"]
    assert decide_failed == dict(expected.decide_failed)
    [mapping] = of(pulumi_mocks, "apigateway/integrationResponse:IntegrationResponse")
    assert mapping.inputs["responseTemplates"]["application/json"] == (
        serving_docs.start_sync_response_template(expected.incomplete_template)
    )
    assert (
        f"#else\n{expected.incomplete_template}\n#end"
        in (mapping.inputs["responseTemplates"]["application/json"])
    )
    [bad] = of(pulumi_mocks, "apigateway/response:Response")
    body = bad.inputs["responseTemplates"]["application/json"]
    assert body.startswith(f'{{"detail": "{expected.invalid_request_detail}", "errors": ')


def test_the_fallback_arg_must_be_fallback_responses():
    with pytest.raises(ValueError, match=r"InferenceServiceArgs\.fallback must be a mlops"):
        InferenceServiceArgs(
            usecase="remedy", names=NameContext("dev", "111111111111", "eu-west-2"), tags={},
            endpoint=RealtimeEndpoint(mode="realtime", instance_type="ml.c6i.large"),
            functions=functions(), code=None, kms_key_arn=KEY, subnet_ids=[],
            security_group_ids=[], fallback={"error": "x"},
        )  # fmt: skip


def functions_specs() -> list[FunctionSpec]:
    return functions()


def test_the_decision_api_logs_errors_and_never_request_bodies(pulumi_mocks, stack_config):
    run(lambda: build(stack_config, True))
    [settings] = of(pulumi_mocks, "apigateway/methodSettings:MethodSettings")
    assert settings.inputs["methodPath"] == "*/*"
    assert settings.inputs["settings"]["loggingLevel"] == "ERROR"
    assert settings.inputs["settings"]["dataTraceEnabled"] is False
    # the group API Gateway writes those errors to exists first, encrypted and with a retention
    [api] = of(pulumi_mocks, "apigateway/restApi:RestApi")
    execution = [
        g for g in of(pulumi_mocks, "cloudwatch/logGroup:LogGroup")
        if g.inputs["name"].startswith("API-Gateway-Execution-Logs_")
    ]  # fmt: skip
    assert [g.inputs["name"] for g in execution] == [f"API-Gateway-Execution-Logs_{api.id}/v1"]
    assert execution[0].inputs["kmsKeyId"] == LOG_KEY
    assert execution[0].inputs["retentionInDays"] == stack_config.retention.log_days


def _serving_names(mocks: RecordingMocks) -> dict[str, str]:
    return {
        kind: mocks.of_type(f"aws:sagemaker/{typ}")[0].inputs.get("name", "")
        for kind, typ in {
            "model": "model:Model",
            "config": "endpointConfiguration:EndpointConfiguration",
            "endpoint": "endpoint:Endpoint",
        }.items()
    }


def test_sagemaker_names_are_in_the_deployers_scope_and_a_new_package_gets_new_ones(
    stack_config: StackConfig,
) -> None:
    """Never auto-named (outside `mlops-<env>-<usecase>-*`); the model and config end
    in a per-deploy suffix, so the next package's can coexist with the serving ones."""
    from mlops.testing.mocks import install

    env = stack_config.environment
    seen = []
    for package in (PACKAGE, PACKAGE.replace("/3", "/4"), PACKAGE):
        mocks = RecordingMocks(account_id=stack_config.account_id, region=stack_config.region)
        install(mocks, env, {})
        run(lambda p=package: build(stack_config, True, p))
        seen.append(_serving_names(mocks))
    for names in seen:
        for kind, name in names.items():
            assert name.startswith(f"mlops-{env}-remedy-"), (kind, name)
            assert len(name) <= 63, name
    first, second, again = seen
    assert first["endpoint"] == second["endpoint"] == f"mlops-{env}-remedy-endpoint"
    assert first["model"] != second["model"] and first["config"] != second["config"]
    assert first == again  # the same package and settings: no replacement
