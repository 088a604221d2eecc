"""`mlops:serving:InferenceService` — a use case's decision service, from model to API.

- Model from the approved model package ARN; endpoint config encrypted with the stack key.
  Serverless (dev/staging, per manifest) or real-time with target-tracking autoscaling (prod).
  Real-time: model in the VPC with network isolation and data capture (KMS) to the capture bucket.
  SageMaker Serverless supports neither VPC config, network isolation nor data capture: there the
  decide step's audit event (inputs + every model output) is the capture record.
- With no approved model yet (``model_package_arn=None``) no model/endpoint is created and the
  decide step answers without a model (MODEL_NOT_DEPLOYED).
- Where it cannot decide (the decide step failed, the workflow did not complete, the body fails
  the request model) the service answers the use case's ``fallback`` documents
  (``mlops.inference.fallback``; generic error documents by default), never a 5xx.
- Three Lambdas (encode, market data, decide) in the VPC — a function may run on Lambda's own
  network instead (``FunctionSpec.in_vpc=False``: the market-data step, whose only job is an
  external API and whose role reaches no customer data store) — environment encrypted with the
  stack key, X-Ray (through the VPC's X-Ray endpoint), secrets the component creates
  (``managed_secrets``: KMS, value set out of band, read through the Secrets Manager endpoint),
  each with its own KMS-encrypted log group (retention from config) and role; one architecture
  for all three, and the use case's dependency layer (``layer_code``: manylinux wheels for that
  architecture, built by the deploy build) published as ``<usecase>-deps``.
- Step Functions **Express** workflow (``mlops.inference.workflow``), logging ALL with execution
  data to a KMS-encrypted log group, X-Ray, encrypted with the stack key.
- API Gateway REST: ``POST /v1/decisions`` with AWS_IAM auth, a request validator and JSON-Schema
  model, StartSyncExecution integration, throttling, JSON access logs to an encrypted log group,
  and a resource policy limiting callers to this account.
- CloudWatch alarms: workflow failures/timeouts, Lambda errors, API 5xx and p99 latency, and
  endpoint 5xx / model latency when an endpoint exists (they, and the use case's investigate
  share, roll a real-time rollout back: ``ModelEndpoint``).
- The stage's operations dashboard (``mlops.components.serving_dashboard``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.logs import encrypted_log_group
from mlops.components.serving_api import DecisionApi, DecisionApiArgs
from mlops.components.serving_dashboard import DECISION_MIX_METRIC, operations_dashboard
from mlops.components.serving_endpoint import VARIANT, ModelEndpoint, ModelEndpointArgs
from mlops.inference import serving_docs
from mlops.inference.fallback import FallbackResponses
from mlops.inference.workflow import WorkflowSpec, decision_workflow
from mlops.naming import NameContext, boundary_policy_arn, endpoint_name, usecase_name
from mlops.rehearsal import declare
from mlops.tags import with_component
from mlops.usecases import RealtimeEndpoint, ServerlessEndpoint

COMPONENT = "serving"
STEPS = ("encode", "market", "decide")
ROLLBACK_ALARMS = ("endpoint-5xx", "model-latency", "investigate-share")
"""The alarms that roll a real-time rollout back, when they exist."""
LAMBDA_ARCHITECTURES = ("arm64", "x86_64")
MAX_LAYERS = 5  # Lambda's limit per function


@dataclass(frozen=True, kw_only=True)
class FunctionSpec:
    """One workflow Lambda (role is one of STEPS)."""

    role: str
    handler: str
    memory_mb: int = 512
    timeout_s: int = 3
    """Also the workflow task's timeout: together they must fit under API Gateway's 29 s
    (``mlops.inference.workflow.WorkflowSpec``)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    secret_arns: Sequence[pulumi.Input[str]] = ()
    """Existing secrets the function may read (their ids are in ``environment``)."""
    managed_secrets: Mapping[str, str] = field(default_factory=dict)
    """Secrets the component creates for this function: ``{environment variable: purpose}``;
    the secret ``mlops-<env>-<usecase>-<purpose>`` (stack key, no value: set out of band) is
    created once per purpose, its ARN put in the variable, and the function may read it."""
    in_vpc: bool = True
    """False only for a function that must reach the internet and touches no customer data
    store (the market-data step calling an external valuation API): Lambda's own network."""

    def __post_init__(self) -> None:
        if self.role not in STEPS:
            raise ValueError(f"FunctionSpec.role {self.role!r} must be one of {STEPS}")
        if not 128 <= self.memory_mb <= 10_240:
            raise ValueError(f"FunctionSpec.memory_mb {self.memory_mb} must be 128..10240")
        if not 1 <= self.timeout_s <= 60:
            raise ValueError(f"FunctionSpec.timeout_s {self.timeout_s}: Express steps are short")
        for var, purpose in self.managed_secrets.items():
            if not var.isupper() or not purpose.replace("-", "").isalnum() or not purpose.islower():
                raise ValueError(
                    f"FunctionSpec.managed_secrets {var!r}: {purpose!r}: give an upper-case "
                    "environment variable and a lower-case kebab purpose (pseudonymisation-key)"
                )


@dataclass(frozen=True, kw_only=True)
class InferenceServiceArgs:
    usecase: str
    names: NameContext
    tags: Mapping[str, str]
    endpoint: ServerlessEndpoint | RealtimeEndpoint
    functions: Sequence[FunctionSpec]
    code: pulumi.Input[pulumi.Archive]
    """Lambda deployment package (the inference repo's src + dependencies)."""
    kms_key_arn: pulumi.Input[str]
    """Stack key: endpoint storage, Lambda environment, workflow data."""
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    model_package_arn: pulumi.Input[str] | None = None
    """Approved model package; None: deploy without an endpoint (MODEL_NOT_DEPLOYED)."""
    model_artifact_bucket_arn: pulumi.Input[str] | None = None
    """Where registered models live (the platform stack's `registered_models_bucket`, as ARN)."""
    model_artifact_kms_key_arn: pulumi.Input[str] | None = None
    """Its key (the platform stack's `registered_models_key_arn`)."""
    data_capture_bucket: pulumi.Input[str] | None = None
    """Bucket name for data capture (real-time endpoints only)."""
    data_capture_percent: int = 100
    data_capture_kms_key_arn: pulumi.Input[str] | None = None
    """Key of the capture bucket (its bucket policy may require it); default ``kms_key_arn``."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """Key for the log groups (its policy must allow the logs service); default ``kms_key_arn``."""
    layers: Sequence[pulumi.Input[str]] = ()
    """Extra layer version ARNs (after the dependency layer)."""
    layer_code: pulumi.Input[pulumi.Archive] | None = None
    """The dependency layer's content (``python/...``), built for ``architecture`` and
    ``runtime``; published as a layer version every function uses. None: ``layers`` only."""
    architecture: str = "arm64"
    """Lambda architecture of every function (and of the dependency layer's wheels)."""
    request_schema: Mapping[str, Any] | None = None
    """JSON Schema (pydantic) of the request body; enforced by API Gateway's validator."""
    log_retention_days: int = 365
    throttle_rate: float = 50.0
    throttle_burst: int = 100
    scale_target_invocations: float = 200.0
    api_latency_alarm_ms: float = 3_000.0
    dashboard: bool = False
    """Create the stage's operations dashboard (``mlops.components.serving_dashboard``); the
    deployer's generated managed policies carry its statement (docs/rollout.md)."""
    health_metrics: Sequence[str] = ()
    """The model-health metrics (namespace ``mlops/model-health``) the use case's health job
    publishes, charted on the operations dashboard against recorded outcomes; none by default."""
    decision_events: bool = False
    """The decide step logs decision events (``event_type="decision"``, a ``recommendation``):
    metric filters count them per recommendation for the operations dashboard's decision mix."""
    investigate_alarm_share: float | None = None
    """A use case whose decisions include ``investigate`` (Remedy) alarms when more than this
    share of decisions in an hour is ``investigate`` (handler capacity), counted from the decide
    step's audit events; the alarm also rolls back a real-time rollout. None: no alarm."""
    alarm_topic_arn: pulumi.Input[str] | None = None
    runtime: str = "python3.12"
    reserved_concurrency: int = 10
    """Reserved concurrency of each workflow Lambda (the manifest's
    stacks.<env>.function_concurrency): a burst of one use case never starves the account."""
    fallback: FallbackResponses = field(default_factory=FallbackResponses)
    """What the service answers when it cannot decide (the use case's wording; generic error
    documents by default): ``mlops.inference.fallback``."""

    def __post_init__(self) -> None:
        if not isinstance(self.fallback, FallbackResponses):
            raise ValueError(
                "InferenceServiceArgs.fallback must be a mlops.inference.fallback."
                f"FallbackResponses, got {self.fallback!r}"
            )
        roles = sorted(f.role for f in self.functions)
        if roles != sorted(STEPS):
            raise ValueError(f"functions must define exactly the steps {STEPS}, got {roles}")
        if self.architecture not in LAMBDA_ARCHITECTURES:
            raise ValueError(
                f"InferenceServiceArgs.architecture {self.architecture!r} must be one of "
                f"{LAMBDA_ARCHITECTURES}"
            )
        if len(self.layers) + (self.layer_code is not None) > MAX_LAYERS:
            raise ValueError(f"a Lambda function takes at most {MAX_LAYERS} layers")
        share = self.investigate_alarm_share
        if share is not None and not 0 < share < 1:
            raise ValueError("investigate_alarm_share must be within (0, 1)")
        if share is not None and not self.decision_events:
            raise ValueError(
                "investigate_alarm_share counts decision events: set decision_events=True too"
            )
        if not 0 < self.data_capture_percent <= 100:
            raise ValueError("data_capture_percent must be within 1..100")
        if self.throttle_rate <= 0 or self.throttle_burst <= 0:
            raise ValueError("throttle_rate and throttle_burst must be positive")
        if not 1 <= self.reserved_concurrency <= 900:
            raise ValueError(
                f"reserved_concurrency {self.reserved_concurrency} must be within 1..900 "
                "(stacks.<env>.function_concurrency in the use-case manifest)"
            )
        realtime = isinstance(self.endpoint, RealtimeEndpoint)
        if realtime and self.model_package_arn is not None and self.data_capture_bucket is None:
            raise ValueError(
                "a real-time endpoint needs data_capture_bucket (KMS-encrypted capture)"
            )


class InferenceService(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: InferenceServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:serving:InferenceService", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._tags = with_component(args.tags, COMPONENT, usecase=args.usecase)
        n = args.names
        self.endpoint: aws.sagemaker.Endpoint | None = None
        self.model_endpoint: ModelEndpoint | None = None
        # the alarms a rollout watches exist before the endpoint that names them
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        if args.investigate_alarm_share is not None:
            self.alarms["investigate-share"] = self._investigate_alarm(n)
        if args.model_package_arn is not None:
            self.alarms |= self._endpoint_alarms(n)
            self._build_endpoint(n)
        self.layer: aws.lambda_.LayerVersion | None = None
        if args.layer_code is not None:
            self.layer = aws.lambda_.LayerVersion(
                f"{name}-deps-layer",
                layer_name=usecase_name(n, args.usecase, "deps", kind="lambda"),
                code=args.layer_code,
                compatible_runtimes=[args.runtime],
                compatible_architectures=[args.architecture],
                description=f"{args.usecase} handler dependencies ({args.architecture} wheels)",
                opts=self._child,
            )
        self.secrets: dict[str, aws.secretsmanager.Secret] = {}
        for spec in args.functions:
            for purpose in spec.managed_secrets.values():
                if purpose not in self.secrets:
                    self.secrets[purpose] = self._secret(n, purpose)
        self.functions: dict[str, aws.lambda_.Function] = {}
        self.function_log_groups: dict[str, aws.cloudwatch.LogGroup] = {}
        self.function_roles: dict[str, aws.iam.Role] = {}
        for spec in args.functions:
            self._build_function(n, spec)
        self._build_state_machine(n)
        self._build_api(n)
        self.alarms |= self._build_alarms(n)
        self.metric_filters: dict[str, aws.cloudwatch.LogMetricFilter] = {}
        if args.decision_events:
            self._build_decision_metrics(n)
        self.dashboard: aws.cloudwatch.Dashboard | None = None
        if args.dashboard:
            self._build_dashboard(n)
        self._declare_decision(n)
        self.register_outputs(
            {
                "api_id": self.api.rest_api.id,
                "invoke_url": self.invoke_url,
                "state_machine_arn": self.state_machine.arn,
                "endpoint_name": self.endpoint.name if self.endpoint else None,
                "model_deployed": self.endpoint is not None,
            }
        )

    def _build_dashboard(self, n: NameContext) -> None:
        args = self._args
        self.dashboard = operations_dashboard(
            f"{self._name}-dashboard",
            names=n,
            usecase=args.usecase,
            api_name=self.api.rest_api.name,
            api_stage=self.stage.stage_name,
            state_machine_arn=self.state_machine.arn,
            function_names={role: fn.name for role, fn in self.functions.items()},
            endpoint_name=self.endpoint.name if self.endpoint else None,
            rollback_alarm_arns=(
                [self.alarms[k].arn for k in ROLLBACK_ALARMS if k in self.alarms]
                if self.endpoint is not None and isinstance(args.endpoint, RealtimeEndpoint)
                else []
            ),
            decision_events=args.decision_events,
            investigate_share=args.investigate_alarm_share is not None,
            health_metrics=args.health_metrics,
            opts=self._child,
        )

    # --- helpers ------------------------------------------------------------------------------
    def _log_group(self, role: str, physical: str) -> aws.cloudwatch.LogGroup:
        return encrypted_log_group(
            f"{self._name}-{role}-logs",
            physical_name=physical,
            kms_key_arn=self._args.log_kms_key_arn or self._args.kms_key_arn,
            retention_days=self._args.log_retention_days,
            tags=self._tags,
            opts=self._child,
        )

    def _role(self, role: str, service: str, policy: pulumi.Input[str]) -> aws.iam.Role:
        n = self._args.names
        r = aws.iam.Role(
            f"{self._name}-{role}-role",
            name=usecase_name(n, self._args.usecase, role, kind="role"),
            permissions_boundary=boundary_policy_arn(n, self._args.usecase),
            assume_role_policy=iam.dumps(iam.service_trust(service, n.account_id)),
            tags=self._tags,
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-{role}-policy",
            role=r.name,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=r),
        )
        return r

    def _secret(self, n: NameContext, purpose: str) -> aws.secretsmanager.Secret:
        """A secret whose value is set out of band (never in code, config or Pulumi state)."""
        physical = usecase_name(n, self._args.usecase, purpose)
        return aws.secretsmanager.Secret(
            f"{self._name}-{purpose}-secret",
            name=physical,
            description=(
                f"{self._args.usecase} {purpose}: value set out of band "
                f"(aws secretsmanager put-secret-value --secret-id {physical})"
            ),
            kms_key_id=self._args.kms_key_arn,
            recovery_window_in_days=7,
            tags=self._tags,
            opts=self._child,
        )

    # --- endpoint -----------------------------------------------------------------------------
    def _build_endpoint(self, n: NameContext) -> None:
        a = self._args
        assert a.model_package_arn is not None
        self.model_endpoint = ModelEndpoint(
            f"{self._name}-model",
            ModelEndpointArgs(
                usecase=a.usecase,
                names=n,
                tags=self._tags,
                endpoint=a.endpoint,
                model_package_arn=a.model_package_arn,
                kms_key_arn=a.kms_key_arn,
                subnet_ids=a.subnet_ids,
                security_group_ids=a.security_group_ids,
                model_artifact_bucket_arn=a.model_artifact_bucket_arn,
                model_artifact_kms_key_arn=a.model_artifact_kms_key_arn,
                data_capture_bucket=a.data_capture_bucket,
                data_capture_kms_key_arn=a.data_capture_kms_key_arn,
                data_capture_percent=a.data_capture_percent,
                scale_target_invocations=a.scale_target_invocations,
                rollback_alarm_names=[
                    self.alarms[k].name for k in ROLLBACK_ALARMS if k in self.alarms
                ],
            ),
            opts=self._child,
        )
        self.endpoint = self.model_endpoint.endpoint

    # --- Lambdas ------------------------------------------------------------------------------
    def _build_function(self, n: NameContext, spec: FunctionSpec) -> None:
        a = self._args
        physical = usecase_name(n, a.usecase, spec.role, kind="lambda")
        log_group = self._log_group(spec.role, f"/aws/lambda/{physical}")
        managed = {var: self.secrets[p].arn for var, p in spec.managed_secrets.items()}
        policy = pulumi.Output.all(
            lg=log_group.arn,
            key=a.kms_key_arn,
            secrets=[*spec.secret_arns, *managed.values()],
            subnets=a.subnet_ids,
            groups=a.security_group_ids,
        ).apply(
            lambda v: iam.dumps(
                serving_docs.lambda_policy(
                    log_group_arn=v["lg"],
                    kms_key_arn=v["key"],
                    secret_arns=v["secrets"],
                    region=n.region,
                    account_id=n.account_id,
                    subnet_ids=v["subnets"],
                    security_group_ids=v["groups"],
                )
            )
        )
        role = self._role(spec.role, "lambda.amazonaws.com", policy)
        env = {
            "POWERTOOLS_SERVICE_NAME": f"{a.usecase}-{spec.role}",
            "USECASE": a.usecase,
            **spec.environment,
            **managed,
        }
        if self.endpoint is not None:
            env["ENDPOINT_NAME"] = self.endpoint.name  # type: ignore[assignment]
        self.function_log_groups[spec.role] = log_group
        self.function_roles[spec.role] = role
        self.functions[spec.role] = aws.lambda_.Function(
            f"{self._name}-{spec.role}",
            name=physical,
            role=role.arn,
            runtime=a.runtime,
            handler=spec.handler,
            code=a.code,
            layers=[*([self.layer.arn] if self.layer else []), *a.layers],
            memory_size=spec.memory_mb,
            timeout=spec.timeout_s,
            reserved_concurrent_executions=a.reserved_concurrency,
            architectures=[a.architecture],
            kms_key_arn=a.kms_key_arn,
            environment={"variables": env},
            vpc_config=(
                {"subnet_ids": a.subnet_ids, "security_group_ids": a.security_group_ids}
                if spec.in_vpc
                else None
            ),
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )

    # --- workflow -----------------------------------------------------------------------------
    def _build_state_machine(self, n: NameContext) -> None:
        a = self._args
        physical = usecase_name(n, a.usecase, "decision-workflow", kind="generic")
        self.state_machine_log_group = self._log_group(
            "workflow", f"/aws/vendedlogs/states/{physical}"
        )
        arns = [self.functions[s].arn for s in STEPS]
        endpoint_arn = self.endpoint.arn if self.endpoint else None
        policy = pulumi.Output.all(arns=arns, endpoint=endpoint_arn, key=a.kms_key_arn).apply(
            lambda v: iam.dumps(
                serving_docs.state_machine_policy(
                    function_arns=v["arns"], endpoint_arn=v["endpoint"], kms_key_arn=v["key"]
                )
            )
        )
        self.state_machine_role = self._role("workflow", "states.amazonaws.com", policy)
        timeouts = {f.role: f.timeout_s for f in a.functions}
        endpoint_name = self.endpoint.name if self.endpoint else None
        definition = pulumi.Output.all(arns=arns, endpoint=endpoint_name).apply(
            lambda v: json.dumps(
                decision_workflow(
                    WorkflowSpec(
                        encode_function_arn=v["arns"][0],
                        market_function_arn=v["arns"][1],
                        decide_function_arn=v["arns"][2],
                        endpoint_name=v["endpoint"],
                        task_timeout_s=max(timeouts["encode"], timeouts["decide"]),
                        market_timeout_s=timeouts["market"],
                        fallback=a.fallback,
                    )
                )
            )
        )
        self.state_machine = aws.sfn.StateMachine(
            f"{self._name}-workflow",
            name=physical,
            type="EXPRESS",
            role_arn=self.state_machine_role.arn,
            definition=definition,
            logging_configuration={
                "level": "ALL",
                "include_execution_data": True,
                "log_destination": self.state_machine_log_group.arn.apply(lambda x: f"{x}:*"),
            },
            tracing_configuration={"enabled": True},
            encryption_configuration={
                "type": "CUSTOMER_MANAGED_KMS_KEY",
                "kms_key_id": a.kms_key_arn,
                "kms_data_key_reuse_period_seconds": 300,
            },
            tags=self._tags,
            opts=self._child,
        )

    # --- API ----------------------------------------------------------------------------------
    def _build_api(self, n: NameContext) -> None:
        a = self._args
        self.api = DecisionApi(
            f"{self._name}-api",
            DecisionApiArgs(
                usecase=a.usecase,
                names=n,
                tags=self._tags,
                kms_key_arn=a.log_kms_key_arn or a.kms_key_arn,
                state_machine_arn=self.state_machine.arn,
                request_schema=a.request_schema,
                log_retention_days=a.log_retention_days,
                throttle_rate=a.throttle_rate,
                throttle_burst=a.throttle_burst,
                fallback=a.fallback,
            ),
            opts=self._child,
        )
        self.stage = self.api.stage
        self.invoke_url = self.api.invoke_url

    # --- runtime actors (mlops rehearse) ----------------------------------------------------
    def _declare_decision(self, n: NameContext) -> None:
        """One decision request: API Gateway -> Step Functions -> Lambdas -> endpoint."""
        a, acct = self._args, n.account_id
        sm_arn = self.state_machine.arn
        declare.service_assumes(
            flow="decision",
            step="API Gateway takes the integration role",
            service="apigateway.amazonaws.com",
            role_arn=self.api.role.arn,
            account=acct,
            order=10,
        )
        declare.actor(
            flow="decision",
            step="API Gateway starts the synchronous workflow",
            principal=self.api.role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            order=11,
            calls=[declare.call("states:StartSyncExecution", sm_arn)],
        )
        declare.service_assumes(
            flow="decision",
            step="Step Functions takes the workflow role",
            service="states.amazonaws.com",
            role_arn=self.state_machine_role.arn,
            account=acct,
            source_arn=sm_arn,
            order=20,
        )
        workflow_calls = [
            declare.call("lambda:InvokeFunction", self.functions[s].arn, why=f"{s} step")
            for s in STEPS
        ]
        if self.endpoint is not None:
            workflow_calls.append(
                declare.call("sagemaker:InvokeEndpoint", self.endpoint.arn, why="predict step")
            )
        workflow_calls.append(
            declare.call(
                "kms:GenerateDataKey",
                a.kms_key_arn,
                why="execution data encrypted with the key",
                context={"kms:ViaService": f"states.{n.region}.amazonaws.com"},
            )
        )
        declare.actor(
            flow="decision",
            step="the workflow runs its steps",
            principal=self.state_machine_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            order=21,
            calls=workflow_calls,
        )
        vpc = declare.vpc(None, a.subnet_ids, a.security_group_ids)
        for i, spec in enumerate(a.functions):
            role, fn = self.function_roles[spec.role], self.functions[spec.role]
            declare.service_assumes(
                flow="decision",
                step=f"Lambda takes the {spec.role} role",
                service="lambda.amazonaws.com",
                role_arn=role.arn,
                account=acct,
                source_arn=fn.arn,
                order=30 + 10 * i,
            )
            declare.actor(
                flow="decision",
                step=f"{spec.role} function starts (Lambda service)",
                principal=role.arn,
                account=acct,
                origin=declare.AWS_SERVICE,
                order=31 + 10 * i,
                calls=[
                    declare.call(
                        "kms:Decrypt",
                        a.kms_key_arn,
                        why="decrypt the environment",
                        context={
                            "kms:ViaService": f"lambda.{n.region}.amazonaws.com",
                            "kms:EncryptionContext:LambdaFunctionName": fn.name,
                        },
                    ),
                    declare.call(
                        "logs:PutLogEvents",
                        self.function_log_groups[spec.role].arn.apply(
                            lambda arn: f"{arn}:log-stream:rehearsal"
                        ),
                        why="function logs",
                    ),
                ],
            )
            code_calls = [
                declare.call("xray:PutTraceSegments", why="active tracing (X-Ray daemon)"),
                *[
                    declare.call("secretsmanager:GetSecretValue", s, why="configured secret")
                    for s in spec.secret_arns
                ],
            ]
            for purpose in spec.managed_secrets.values():
                secret_arn = self.secrets[purpose].arn
                code_calls += [
                    declare.call(
                        "secretsmanager:GetSecretValue",
                        secret_arn,
                        why=f"{purpose} (secret created here, value set out of band)",
                    ),
                    declare.call(
                        "kms:Decrypt",
                        a.kms_key_arn,
                        why=f"Secrets Manager decrypts {purpose} as the caller",
                        context={
                            "kms:ViaService": f"secretsmanager.{n.region}.amazonaws.com",
                            "kms:EncryptionContext:SecretARN": secret_arn,
                            "aws:ViaAWSService": True,
                        },
                        destination="secretsmanager",
                    ),
                ]
            code_calls += [
                declare.call("https", url, network_only=True, why=f"external service ({key})")
                for key, url in sorted(spec.environment.items())
                if str(url).startswith("https://")
            ]
            declare.actor(
                flow="decision",
                step=f"{spec.role} function code",
                principal=role.arn,
                account=acct,
                origin=vpc if spec.in_vpc else declare.PUBLIC,
                order=32 + 10 * i,
                calls=code_calls,
            )
        if self.model_endpoint is not None:
            self.model_endpoint.declare_runtime(order=90)
        # a serving role cannot put network interfaces outside its own subnets and groups
        ec2 = f"arn:aws:ec2:{n.region}:{acct}"
        for spec in a.functions:
            declare.actor(
                flow="attacks",
                step=f"the {a.usecase} {spec.role} function's role attaches elsewhere",
                principal=self.function_roles[spec.role].arn,
                account=acct,
                origin=declare.AWS_SERVICE,
                calls=[
                    declare.call(
                        "ec2:CreateNetworkInterface", f"{ec2}:subnet/subnet-0elsewhere",
                        expect="deny", why="an interface in a subnet the function does not use",
                    ),
                    declare.call(
                        "ec2:CreateNetworkInterface", f"{ec2}:security-group/sg-0elsewhere",
                        expect="deny", why="an interface in a security group of its choosing",
                    ),
                ],
                order=970,
            )  # fmt: skip

    # --- alarms -------------------------------------------------------------------------------
    def _alarm(self, role: str, **kw: Any) -> aws.cloudwatch.MetricAlarm:
        a = self._args
        actions = [a.alarm_topic_arn] if a.alarm_topic_arn is not None else []
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-alarm-{role}",
            name=usecase_name(a.names, a.usecase, "alarm", role, kind="generic"),
            evaluation_periods=kw.pop("evaluation_periods", 1),
            period=kw.pop("period", 300),
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            tags=self._tags,
            opts=self._child,
            **kw,
        )

    def _build_decision_metrics(self, n: NameContext) -> None:
        """Business metrics from the audit events (``event_type="decision"`` log lines)."""
        a = self._args
        namespace = f"mlops/{a.usecase}"
        group = self.function_log_groups["decide"].name
        patterns = {
            "decisions": '{ $.event_type = "decision" }',
            "investigations": '{ $.event_type = "decision" && $.recommendation = "investigate" }',
        }
        # the decision mix: one metric, a dimension per recommendation (no default value: CloudWatch
        # refuses one on a filter with dimensions)
        self.metric_filters["decision-mix"] = aws.cloudwatch.LogMetricFilter(
            f"{self._name}-metric-decision-mix",
            name=usecase_name(n, a.usecase, "decision-mix"),
            log_group_name=group,
            pattern='{ $.event_type = "decision" }',
            metric_transformation={
                "name": DECISION_MIX_METRIC,
                "namespace": namespace,
                "value": "1",
                "dimensions": {"Recommendation": "$.recommendation"},
            },
            opts=self._child,
        )
        if a.investigate_alarm_share is None:
            return
        for metric, pattern in patterns.items():
            self.metric_filters[metric] = aws.cloudwatch.LogMetricFilter(
                f"{self._name}-metric-{metric}",
                name=usecase_name(n, a.usecase, metric),
                log_group_name=group,
                pattern=pattern,
                metric_transformation={
                    "name": metric.capitalize(),
                    "namespace": namespace,
                    "value": "1",
                    "default_value": "0",
                },
                opts=self._child,
            )

    def _investigate_alarm(self, n: NameContext) -> aws.cloudwatch.MetricAlarm:
        """The share of investigate decisions in an hour (the decide step's audit events, counted
        by the metric filters of `_build_decision_metrics`) above handler capacity."""
        a = self._args
        namespace = f"mlops/{a.usecase}"
        actions = [a.alarm_topic_arn] if a.alarm_topic_arn is not None else []

        def query(qid: str, metric: str) -> dict[str, Any]:
            return {
                "id": qid,
                "metric": {
                    "namespace": namespace,
                    "metric_name": metric,
                    "period": 3600,
                    "stat": "Sum",
                },
                "return_data": False,
            }

        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-alarm-investigate-share",
            name=usecase_name(n, a.usecase, "alarm", "investigate-share"),
            alarm_description=f"{a.usecase}: share of investigate decisions above handler capacity",
            comparison_operator="GreaterThanThreshold",
            threshold=a.investigate_alarm_share,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            metric_queries=[
                query("inv", "Investigations"),
                query("all", "Decisions"),
                {
                    "id": "share",
                    "expression": "IF(all > 20, inv / all, 0)",
                    "label": "investigate share (hourly, at least 20 decisions)",
                    "return_data": True,
                },
            ],
            alarm_actions=actions,
            ok_actions=actions,
            tags=self._tags,
            opts=self._child,
        )

    def _endpoint_alarms(self, n: NameContext) -> dict[str, aws.cloudwatch.MetricAlarm]:
        """Endpoint 5xx and p99 model latency, on the endpoint's (fixed) name: they exist before
        the endpoint, whose rollouts they roll back."""
        a = self._args
        ep = {"EndpointName": endpoint_name(n, a.usecase), "VariantName": VARIANT}
        return {
            "endpoint-5xx": self._alarm(
                "endpoint-5xx",
                namespace="AWS/SageMaker",
                metric_name="Invocation5XXErrors",
                dimensions=ep,
                statistic="Sum",
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                period=60,  # SageMaker's 1-minute metrics: a rollout's wait sees it
                alarm_description=f"{a.usecase} endpoint 5xx",
            ),
            "model-latency": self._alarm(
                "model-latency-p99",
                namespace="AWS/SageMaker",
                metric_name="ModelLatency",
                dimensions=ep,
                extended_statistic="p99",
                comparison_operator="GreaterThanThreshold",
                threshold=1_000_000,  # microseconds: 1 s
                period=60,
                evaluation_periods=3,
                alarm_description=f"{a.usecase} model latency p99 above 1 s",
            ),
        }

    def _build_alarms(self, n: NameContext) -> dict[str, aws.cloudwatch.MetricAlarm]:
        a = self._args
        alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        sm = {"StateMachineArn": self.state_machine.arn}
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            alarms[metric] = self._alarm(
                metric.lower(),
                namespace="AWS/States",
                metric_name=metric,
                dimensions=sm,
                statistic="Sum",
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                alarm_description=f"{a.usecase} decision workflow: {metric}",
            )
        for role, fn in self.functions.items():
            alarms[f"{role}-errors"] = self._alarm(
                f"{role}-errors",
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions={"FunctionName": fn.name},
                statistic="Sum",
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                alarm_description=f"{a.usecase} {role} Lambda errors",
            )
        api = {"ApiName": self.api.rest_api.name, "Stage": self.stage.stage_name}
        alarms["api-5xx"] = self._alarm(
            "api-5xx",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions=api,
            statistic="Sum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            alarm_description=f"{a.usecase} decision API answered 5xx",
        )
        alarms["api-latency"] = self._alarm(
            "api-latency-p99",
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions=api,
            extended_statistic="p99",
            comparison_operator="GreaterThanThreshold",
            threshold=a.api_latency_alarm_ms,
            evaluation_periods=3,
            alarm_description=f"{a.usecase} decision API p99 latency",
        )
        return alarms
