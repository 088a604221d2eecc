"""The engine-faithful mocks themselves: auto-naming, provider outputs, what the engine receives,
and StackReferences through the state-backend layout.

Each behaviour is checked against a small program built with the real pulumi-aws SDK classes.
"""

from __future__ import annotations

import inspect
import re
import runpy
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from components.test_analytics import _args, _monitoring, _snowflake
from components.test_serving import build as build_service
from test_backends import _build as build_bootstrap

from mlops.backends import platform_backend_url
from mlops.components.analytics import DecisionAnalytics
from mlops.config import REPO_ROOT, StackConfig, load_stack_config
from mlops.program import build_stack
from mlops.testing import autonaming
from mlops.testing.autonaming import AutonameError
from mlops.testing.mocks import (
    RecordedResource,
    RecordingMocks,
    StackReferenceError,
    install,
    run,
)

ACCT = "111111111111"
REGION = "eu-west-2"
HEX7 = "[0-9a-f]{7}"


def fresh(stack: str = "dev", project: str = "mlops-platform", **kw: Any) -> RecordingMocks:
    mocks = RecordingMocks(**kw)
    install(mocks, stack, project=project)
    return mocks


def one(mocks: RecordingMocks, name: str) -> RecordedResource:
    return mocks.named(name)


# --- auto-naming ----------------------------------------------------------------------------------
def _role() -> None:
    aws.iam.Role("probe-role", assume_role_policy="{}")


AUTONAMED = [
    # (build, logical name, property, expected value pattern)
    (_role, "probe-role", "name", rf"probe-role-{HEX7}"),
    (lambda: aws.s3.Bucket("Probe-Bucket"), "Probe-Bucket", "bucket", rf"probe-bucket-{HEX7}"),
    (
        lambda: aws.lambda_.Function("probe-fn", role="arn:aws:iam::1:role/r"),
        "probe-fn",
        "name",
        rf"probe-fn-{HEX7}",
    ),
    (
        lambda: aws.cloudwatch.EventTarget("probe-target", rule="r", arn="arn:aws:sns:x"),
        "probe-target",
        "targetId",
        rf"probe-target-{HEX7}",
    ),
    (
        lambda: aws.kms.Alias("probe-alias", target_key_id="k"),
        "probe-alias",
        "name",
        rf"alias/probe-alias-{HEX7}",
    ),
    (
        lambda: aws.sqs.Queue("probe-queue", fifo_queue=True),
        "probe-queue",
        "name",
        rf"probe-queue-{HEX7}\.fifo",
    ),
    (
        lambda: aws.s3.BucketObjectv2("docs/readme.md", bucket="b"),
        "docs/readme.md",
        "key",
        r"docs/readme\.md",
    ),
    (
        lambda: aws.sagemaker.Model("probe-model", execution_role_arn="arn:aws:iam::1:role/r"),
        "probe-model",
        "name",
        rf"probe-model-{HEX7}",
    ),
    (
        lambda: aws.cfg.Recorder("probe-recorder", role_arn="arn:aws:iam::1:role/r"),
        "probe-recorder",
        "name",
        rf"probe-recorder-{HEX7}",  # not Terraform's "default": Pulumi's default runs first
    ),
]


@pytest.mark.parametrize(("build", "logical", "prop", "pattern"), AUTONAMED,
                         ids=[a[1] for a in AUTONAMED])  # fmt: skip
def test_autonames_the_property_pulumi_aws_autonames(build, logical, prop, pattern) -> None:
    mocks = fresh()
    run(build)
    r = one(mocks, logical)
    assert prop not in r.inputs, "the program gave no name"
    assert re.fullmatch(pattern, r.state[prop]), r.state[prop]
    assert (r.physical_name, r.name_property, r.autonamed) == (r.state[prop], prop, True)
    assert r.checked_inputs[prop] == r.physical_name


def test_autoname_reaches_dependent_resources() -> None:
    """The generated name is an output other resources read, as with the real provider."""
    mocks = fresh()

    def program() -> None:
        role = aws.iam.Role("probe-role", assume_role_policy="{}")
        aws.iam.RolePolicy("probe-policy", role=role.name, policy="{}")

    run(program)
    role, policy = one(mocks, "probe-role"), one(mocks, "probe-policy")
    assert policy.inputs["role"] == role.physical_name != "probe-role"
    assert role.state["arn"] == f"arn:aws:iam::{ACCT}:role/{role.physical_name}"


def test_given_name_is_kept() -> None:
    mocks = fresh()
    run(lambda: aws.iam.Role("probe-role", name="mlops-dev-probe", assume_role_policy="{}"))
    r = one(mocks, "probe-role")
    assert (r.physical_name, r.autonamed) == ("mlops-dev-probe", False)
    assert r.state["name"] == "mlops-dev-probe"


def test_required_names_are_the_physical_name() -> None:
    mocks = fresh()
    run(lambda: aws.codecommit.Repository("repo", repository_name="remedy-training"))
    r = one(mocks, "repo")
    assert (r.physical_name, r.name_property, r.autonamed) == (
        "remedy-training", "repositoryName", False
    )  # fmt: skip


@pytest.mark.parametrize(("typ", "maxlen"), [("role", 64), ("fn", 64), ("rule", 64), ("queue", 80)])
def test_max_length_is_the_providers(typ: str, maxlen: int) -> None:
    """Name + '-' + 7 characters must fit; one character more is the engine's check failure."""
    make = {
        "role": lambda n: aws.iam.Role(n, assume_role_policy="{}"),
        "fn": lambda n: aws.lambda_.Function(n, role="arn:aws:iam::1:role/r"),
        "rule": lambda n: aws.cloudwatch.EventRule(n, event_pattern="{}"),
        "queue": lambda n: aws.sqs.Queue(n),
    }[typ]
    fits = "a" * (maxlen - 8)
    mocks = fresh()
    run(lambda: make(fits))
    assert len(one(mocks, fits).physical_name) == maxlen
    fresh()
    with pytest.raises(
        AutonameError, match=rf"plus 7 random chars is longer than maximum length {maxlen}"
    ):
        run(lambda: make(fits + "b"))


def test_bucket_limit_is_63_and_lower_case() -> None:
    mocks = fresh()
    run(lambda: aws.s3.Bucket("B" * 55))
    assert one(mocks, "B" * 55).physical_name.startswith("b" * 55 + "-")
    assert len(one(mocks, "B" * 55).physical_name) == 63
    fresh()
    with pytest.raises(AutonameError, match="maximum length 63"):
        run(lambda: aws.s3.Bucket("b" * 56))


@pytest.mark.parametrize(
    ("build", "logical", "prop", "prefix"),
    [
        (lambda: aws.iam.Role("r", name_prefix="mlops-dev-x-", assume_role_policy="{}"),
         "r", "name", "mlops-dev-x-"),
        (lambda: aws.s3.Bucket("b", bucket_prefix="mlops-dev-logs-"), "b", "bucket",
         "mlops-dev-logs-"),
        (lambda: aws.lambda_.Permission("p", statement_id_prefix="allow-", action="x",
                                        function="f", principal="s3.amazonaws.com"),
         "p", "statementId", "allow-"),
    ],
    ids=["role", "bucket", "permission"],
)  # fmt: skip
def test_prefix_gives_prefix_plus_26_characters(build, logical, prop, prefix) -> None:
    mocks = fresh()
    run(build)
    value = one(mocks, logical).state[prop]
    assert value.startswith(prefix) and len(value) == len(prefix) + 26, value
    assert re.fullmatch(r"\d{18}[0-9a-f]{8}", value[len(prefix) :]), value
    assert logical not in value.removeprefix(prefix)  # no auto-name when a prefix is given


def test_names_and_ids_are_deterministic_per_stack_and_urn() -> None:
    def program() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.0.0.0/24")
        aws.iam.Role("probe-role", assume_role_policy="{}")
        aws.iam.Role("other-role", assume_role_policy="{}")

    def snapshot(stack: str) -> dict[str, Any]:
        mocks = fresh(stack)
        run(program)
        return {r.name: (r.id, r.physical_name) for r in mocks.resources}

    first, again, other = snapshot("dev"), snapshot("dev"), snapshot("staging")
    assert first == again
    assert first["probe-role"] != other["probe-role"] and first["vpc"] != other["vpc"]
    suffix = {n: first[n][1].rsplit("-", 1)[1] for n in ("probe-role", "other-role")}
    assert suffix["probe-role"] != suffix["other-role"]  # looks random, differs per resource
    assert re.fullmatch(r"vpc-0[0-9a-f]{16}", first["vpc"][0])
    assert re.fullmatch(r"subnet-0[0-9a-f]{16}", first["subnet"][0])


def _snake(camel: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", camel).lower()


def _sdk_params(typ: str) -> dict[str, inspect.Parameter]:
    module, cls = typ.split(":")[1].split("/")[0], typ.rsplit(":", 1)[1]
    mod = getattr(aws, "lambda_" if module == "lambda" else module)
    return dict(inspect.signature(getattr(mod, f"{cls}Args").__init__).parameters)


@pytest.mark.parametrize("typ", sorted(autonaming.RULES))
def test_table_agrees_with_the_installed_sdk(typ: str) -> None:
    """An auto-named property is optional in the Pulumi schema (the bridge makes it so); a type
    listed without a rule has no optional `name`, and prefixes exist where the table says."""
    params = _sdk_params(typ)
    rule = autonaming.RULES[typ]
    if rule is None:
        name = params.get("name")
        assert name is None or name.default is inspect.Parameter.empty, f"{typ} has a name"
        return
    prop = "name" if typ == "aws:cloudwatch/metricAlarm:MetricAlarm" else _snake(rule.prop)
    assert prop in params and params[prop].default is None, f"{typ}.{prop} is not optional"
    own_prefix = f"{_snake(rule.prop)}_prefix"  # name_prefix, bucket_prefix, statement_id_prefix
    assert (own_prefix in params) == (rule.prefix_prop is not None), typ
    assert rule.prefix_prop is None or _snake(rule.prefix_prop) == own_prefix, typ


@pytest.mark.parametrize("typ", sorted(autonaming.REQUIRED_NAMES))
def test_required_name_table_agrees_with_the_sdk(typ: str) -> None:
    prop = _snake(autonaming.REQUIRED_NAMES[typ])
    assert _sdk_params(typ)[prop].default is inspect.Parameter.empty, f"{typ}.{prop}"


def test_types_outside_the_table_follow_set_autonaming() -> None:
    mocks = fresh()
    run(lambda: aws.ram.ResourceShare("share"))
    r = one(mocks, "share")
    assert re.fullmatch(rf"share-{HEX7}", r.physical_name) and r.autonamed
    assert mocks.unknown_types == {"aws:ram/resourceShare:ResourceShare"}


def _inference_and_bootstrap_types(cfg: StackConfig) -> set[str]:
    types: set[str] = set()
    for model in (True, False):
        mocks = fresh(cfg.environment, account_id=cfg.account_id)
        run(lambda m=model: build_service(cfg, m))
        types |= {r.type for r in mocks.resources} | mocks.unknown_types
    mocks = fresh(cfg.environment, account_id=cfg.account_id)
    args = _args(cfg, transform_lambda=True, snowflake=_snowflake(), monitoring=_monitoring(cfg))
    run(lambda: DecisionAnalytics("analytics", args))
    types |= {r.type for r in mocks.resources}
    state = load_stack_config("dev")  # the bootstrap runs only in the account holding the state
    mocks = fresh(state.environment, project="mlops-bootstrap", account_id=state.account_id)
    run(lambda: runpy.run_path(str(REPO_ROOT / "bootstrap" / "__main__.py"), run_name="__main__"))
    return types | {r.type for r in mocks.resources}


def test_every_aws_type_of_the_estate_is_in_the_table(
    stack_config: StackConfig, program: RecordingMocks
) -> None:
    """Platform program, bootstrap, and the inference repos' components (serving, analytics)."""
    types = {r.type for r in program.resources} | _inference_and_bootstrap_types(stack_config)
    aws_types = {t for t in types if t.startswith("aws:")}
    known = set(autonaming.RULES) | set(autonaming.REQUIRED_NAMES)
    assert aws_types - known == set(), "add these to mlops/testing/autonaming.py RULES"
    assert len(aws_types) > 30


# --- provider-computed outputs --------------------------------------------------------------------
ARN_ROLE = "arn:aws:iam::1:role/r"


def _estate() -> None:
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    subnets = [aws.ec2.Subnet(f"sub-{i}", vpc_id=vpc.id, cidr_block=f"10.0.{i}.0/24")
               for i in range(2)]  # fmt: skip
    aws.ec2.SecurityGroup("sg", vpc_id=vpc.id)
    aws.ec2.RouteTable("rt", vpc_id=vpc.id)
    aws.ec2.VpcEndpoint("ep-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.s3",
                        vpc_endpoint_type="Gateway")  # fmt: skip
    aws.ec2.VpcEndpoint("ep-sm", vpc_id=vpc.id, vpc_endpoint_type="Interface",
                        service_name=f"com.amazonaws.{REGION}.sagemaker.api",
                        private_dns_enabled=True, subnet_ids=[s.id for s in subnets])  # fmt: skip
    aws.ec2.DefaultSecurityGroup("default-sg", vpc_id=vpc.id)
    aws.sagemaker.Model("model", name="Mlops-Dev-Remedy-Model", execution_role_arn=ARN_ROLE)
    aws.sagemaker.EndpointConfiguration("config", name="mlops-dev-remedy-config",
                                        production_variants=[{"model_name": "m"}])  # fmt: skip
    aws.sagemaker.Endpoint("endpoint", name="mlops-dev-remedy", endpoint_config_name="c")
    aws.sagemaker.ModelPackageGroup("group", model_package_group_name="mlops-dev-remedy-models")
    aws.sagemaker.Pipeline("pipeline", pipeline_name="mlops-dev-remedy", role_arn=ARN_ROLE,
                           pipeline_display_name="remedy", pipeline_definition="{}")  # fmt: skip
    aws.sagemaker.Domain("domain", domain_name="mlops-dev-studio", auth_mode="IAM",
                         default_user_settings={"execution_role": ARN_ROLE},
                         subnet_ids=[s.id for s in subnets], vpc_id=vpc.id)  # fmt: skip
    aws.lambda_.Function("fn", name="mlops-dev-decide", role=ARN_ROLE)
    aws.sfn.StateMachine("sm", name="mlops-dev-flow", role_arn=ARN_ROLE, definition="{}")
    api = aws.apigateway.RestApi("api", name="mlops-dev-api")
    res = aws.apigateway.Resource("res", rest_api=api.id, parent_id=api.root_resource_id,
                                  path_part="decide")  # fmt: skip
    aws.apigateway.Resource("sub-res", rest_api=api.id, parent_id=res.id, path_part="{id}")
    dep = aws.apigateway.Deployment("deployment", rest_api=api.id)
    aws.apigateway.Stage("stage", rest_api=api.id, deployment=dep.id, stage_name="dev")
    aws.cloudwatch.EventRule("rule", name="mlops-dev-approved", event_pattern="{}")
    aws.sns.Topic("topic", name="mlops-dev-approvals")
    aws.sqs.Queue("queue", name="mlops-dev-dlq")
    aws.codebuild.Project(
        "build", name="mlops-dev-build", service_role=ARN_ROLE, artifacts={"type": "NO_ARTIFACTS"},
        source={"type": "NO_SOURCE", "buildspec": "x"},
        environment={"compute_type": "BUILD_GENERAL1_SMALL", "image": "i",
                     "type": "LINUX_CONTAINER"},
    )  # fmt: skip
    aws.codepipeline.Pipeline(
        "pipe", name="mlops-dev-deploy", role_arn=ARN_ROLE,
        artifact_stores=[{"location": "b", "type": "S3"}],
        stages=[{"name": "s", "actions": [{"name": "a", "category": "Source", "owner": "AWS",
                 "provider": "S3", "version": "1", "output_artifacts": ["o"]}]}],
    )  # fmt: skip
    aws.codecommit.Repository("repo", repository_name="remedy-training")
    aws.ecr.Repository("ecr", name="mlops-dev-remedy")
    aws.secretsmanager.Secret("secret", name="mlops-dev-valuation")
    aws.kms.Key("key")
    aws.iam.Role("role", name="mlops-dev-runner", path="/service-role/", assume_role_policy="{}")
    aws.iam.Policy("policy", name="mlops-dev-approver", policy="{}")
    aws.cloudwatch.LogGroup("logs", name="/mlops/dev/remedy")
    aws.kinesis.FirehoseDeliveryStream("firehose", name="mlops-dev-decisions",
                                       destination="extended_s3")  # fmt: skip
    aws.cloudtrail.Trail("trail", name="mlops-dev-trail", s3_bucket_name="b")
    aws.cfg.Recorder("recorder", name="mlops-dev-config", role_arn=ARN_ROLE)
    aws.servicecatalog.Portfolio("portfolio", name="templates", provider_name="mlops")
    template = {"template_url": "https://x"}
    aws.servicecatalog.Product("product", name="tabular", owner="mlops",
                               type="CLOUD_FORMATION_TEMPLATE",
                               provisioning_artifact_parameters=template)  # fmt: skip
    aws.codeartifact.Domain("ca-domain", domain="mlops")
    aws.codeartifact.Repository("ca-repo", domain="mlops", repository="pypi")
    aws.ssm.Parameter("param", name="/mlops/dev/outputs", type="String", value="v")


R, A = REGION, ACCT
OUTPUTS = [
    ("vpc", "id", r"vpc-0[0-9a-f]{16}"),
    ("vpc", "arn", rf"arn:aws:ec2:{R}:{A}:vpc/vpc-0[0-9a-f]{{16}}"),
    ("sub-0", "id", r"subnet-0[0-9a-f]{16}"),
    ("sg", "id", r"sg-0[0-9a-f]{16}"),
    ("rt", "id", r"rtb-0[0-9a-f]{16}"),
    ("ep-s3", "prefixListId", r"pl-[0-9a-f]{8}"),
    ("ep-sm", "id", r"vpce-0[0-9a-f]{16}"),
    ("model", "arn", rf"arn:aws:sagemaker:{R}:{A}:model/mlops-dev-remedy-model"),
    ("config", "arn", rf"arn:aws:sagemaker:{R}:{A}:endpoint-config/mlops-dev-remedy-config"),
    ("endpoint", "arn", rf"arn:aws:sagemaker:{R}:{A}:endpoint/mlops-dev-remedy"),
    ("group", "arn", rf"arn:aws:sagemaker:{R}:{A}:model-package-group/mlops-dev-remedy-models"),
    ("pipeline", "arn", rf"arn:aws:sagemaker:{R}:{A}:pipeline/mlops-dev-remedy"),
    ("domain", "id", r"d-[a-z0-9]{12}"),
    ("domain", "arn", rf"arn:aws:sagemaker:{R}:{A}:domain/d-[a-z0-9]{{12}}"),
    ("domain", "url", rf"https://d-[a-z0-9]{{12}}\.studio\.{R}\.sagemaker\.aws"),
    ("fn", "arn", rf"arn:aws:lambda:{R}:{A}:function:mlops-dev-decide"),
    ("fn", "invokeArn", rf"arn:aws:apigateway:{R}:lambda:path/2015-03-31/functions/"
                        rf"arn:aws:lambda:{R}:{A}:function:mlops-dev-decide/invocations"),
    ("sm", "arn", rf"arn:aws:states:{R}:{A}:stateMachine:mlops-dev-flow"),
    ("api", "id", r"[a-z0-9]{10}"),
    ("api", "rootResourceId", r"[a-z0-9]{10}"),
    ("api", "executionArn", rf"arn:aws:execute-api:{R}:{A}:[a-z0-9]{{10}}"),
    ("api", "arn", rf"arn:aws:apigateway:{R}::/restapis/[a-z0-9]{{10}}"),
    ("res", "path", r"/decide"),
    ("sub-res", "path", r"/decide/\{id\}"),
    ("stage", "invokeUrl", rf"https://[a-z0-9]{{10}}\.execute-api\.{R}\.amazonaws\.com/dev"),
    ("stage", "executionArn", rf"arn:aws:execute-api:{R}:{A}:[a-z0-9]{{10}}/dev"),
    ("rule", "arn", rf"arn:aws:events:{R}:{A}:rule/mlops-dev-approved"),
    ("topic", "arn", rf"arn:aws:sns:{R}:{A}:mlops-dev-approvals"),
    ("queue", "url", rf"https://sqs\.{R}\.amazonaws\.com/{A}/mlops-dev-dlq"),
    ("queue", "arn", rf"arn:aws:sqs:{R}:{A}:mlops-dev-dlq"),
    ("build", "arn", rf"arn:aws:codebuild:{R}:{A}:project/mlops-dev-build"),
    ("pipe", "arn", rf"arn:aws:codepipeline:{R}:{A}:mlops-dev-deploy"),
    ("repo", "arn", rf"arn:aws:codecommit:{R}:{A}:remedy-training"),
    ("repo", "cloneUrlHttp", rf"https://git-codecommit\.{R}\.amazonaws\.com/v1/repos/remedy-training"),
    ("ecr", "arn", rf"arn:aws:ecr:{R}:{A}:repository/mlops-dev-remedy"),
    ("ecr", "repositoryUrl", rf"{A}\.dkr\.ecr\.{R}\.amazonaws\.com/mlops-dev-remedy"),
    ("secret", "arn", rf"arn:aws:secretsmanager:{R}:{A}:secret:mlops-dev-valuation-[A-Za-z]{{6}}"),
    ("key", "keyId", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}"),
    ("key", "arn", rf"arn:aws:kms:{R}:{A}:key/[0-9a-f]{{8}}-[0-9a-f-]{{27}}"),
    ("role", "arn", rf"arn:aws:iam::{A}:role/service-role/mlops-dev-runner"),
    ("role", "uniqueId", r"AROA[A-Z0-9]{17}"),
    ("policy", "arn", rf"arn:aws:iam::{A}:policy/mlops-dev-approver"),
    ("logs", "arn", rf"arn:aws:logs:{R}:{A}:log-group:/mlops/dev/remedy"),
    ("firehose", "arn", rf"arn:aws:firehose:{R}:{A}:deliverystream/mlops-dev-decisions"),
    ("trail", "arn", rf"arn:aws:cloudtrail:{R}:{A}:trail/mlops-dev-trail"),
    ("recorder", "id", r"mlops-dev-config"),
    ("portfolio", "id", r"port-[a-z0-9]{13}"),
    ("portfolio", "arn", rf"arn:aws:catalog:{R}:{A}:portfolio/port-[a-z0-9]{{13}}"),
    ("product", "id", r"prod-[a-z0-9]{13}"),
    ("ca-domain", "arn", rf"arn:aws:codeartifact:{R}:{A}:domain/mlops"),
    ("ca-repo", "arn", rf"arn:aws:codeartifact:{R}:{A}:repository/mlops/pypi"),
    ("param", "arn", rf"arn:aws:ssm:{R}:{A}:parameter/mlops/dev/outputs"),
]  # fmt: skip


@pytest.fixture(scope="module")
def estate() -> RecordingMocks:
    mocks = fresh()
    run(_estate)
    return mocks


@pytest.mark.parametrize(("name", "output", "pattern"), OUTPUTS,
                         ids=[f"{n}.{o}" for n, o, _ in OUTPUTS])  # fmt: skip
def test_outputs_have_aws_shapes(estate: RecordingMocks, name: str, output: str, pattern: str):
    value = estate.named(name).state.get(output)
    assert isinstance(value, str) and re.fullmatch(pattern, value), (name, output, value)


def test_interface_endpoint_dns_and_enis(estate: RecordingMocks) -> None:
    ep = estate.named("ep-sm").state
    subnets = [estate.named(f"sub-{i}").id for i in range(2)]
    assert len(ep["networkInterfaceIds"]) == len(subnets)
    assert all(re.fullmatch(r"eni-0[0-9a-f]{16}", e) for e in ep["networkInterfaceIds"])
    names = [d["dnsName"] for d in ep["dnsEntries"]]
    assert names[0].startswith(ep["id"] + "-")
    assert names[0].endswith(f".sagemaker.api.{REGION}.vpce.amazonaws.com")
    assert f"api.sagemaker.{REGION}.amazonaws.com" in names  # private DNS enabled
    assert len(names) == 1 + len(subnets) + 1  # regional, one per AZ, private name
    gateway = estate.named("ep-s3").state
    assert gateway["dnsEntries"] == [] and gateway["networkInterfaceIds"] == []


def test_default_security_group_is_the_vpcs(estate: RecordingMocks) -> None:
    assert estate.named("default-sg").id == estate.named("vpc").state["defaultSecurityGroupId"]


def test_prefix_list_lookup_matches_the_gateway_endpoint(estate: RecordingMocks) -> None:
    got = {}
    mocks = fresh()
    run(lambda: got.setdefault("pl", aws.ec2.get_prefix_list(name=f"com.amazonaws.{REGION}.s3")))
    assert mocks.calls and got["pl"].id == estate.named("ep-s3").state["prefixListId"]


def test_provider_account_region_and_default_tags() -> None:
    mocks = fresh()

    def program() -> None:
        tags = aws.ProviderDefaultTagsArgs(tags={"owner": "ml"})
        us = aws.Provider("us", region="us-east-1", allowed_account_ids=["222222222222"],
                          default_tags=tags)  # fmt: skip
        opts = pulumi.ResourceOptions(provider=us)
        aws.cloudwatch.LogGroup("lg", name="/x", tags={"component": "audit"}, opts=opts)

    run(program)
    lg = one(mocks, "lg")
    assert lg.state["arn"] == "arn:aws:logs:us-east-1:222222222222:log-group:/x"
    assert lg.state["tagsAll"] == {"owner": "ml", "component": "audit"}
    assert lg.provider == one(mocks, "us").urn and lg.provider_ref.startswith(lg.provider + "::")


# --- what the engine receives ----------------------------------------------------------------
def test_dependencies_and_options_are_recorded() -> None:
    mocks = fresh()

    def program() -> None:
        key = aws.kms.Key("key")
        bucket = aws.s3.Bucket("bucket", bucket="b")
        gate = aws.sns.Topic("gate", name="gate")
        aws.s3.BucketServerSideEncryptionConfiguration(
            "sse", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {
                "sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}}],
            opts=pulumi.ResourceOptions(depends_on=[gate], protect=True,
                                        ignore_changes=["rules"]),
        )  # fmt: skip
        aws.s3.Bucket("adopted", bucket="old", opts=pulumi.ResourceOptions(import_="old"))

    run(program)
    sse, key, bucket, gate = (one(mocks, n) for n in ("sse", "key", "bucket", "gate"))
    assert set(sse.dependencies) == {key.urn, bucket.urn, gate.urn}
    assert sse.property_dependencies["bucket"] == [bucket.urn]
    assert sse.property_dependencies["rules"] == [key.urn]
    assert sse.explicit_dependencies == [gate.urn]
    assert sse.protect and not key.protect
    assert sse.ignore_changes == ["rules"]
    adopted = one(mocks, "adopted")
    assert adopted.import_id == "old" and adopted.id == "old" and key.import_id == ""


def test_component_children_and_outputs() -> None:
    mocks = fresh()

    class Probe(pulumi.ComponentResource):
        def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__("mlops:test:Probe", name, None, opts)
            self.topic = aws.sns.Topic(f"{name}-topic", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({"topic_arn": self.topic.arn})

    def program() -> None:
        provider = aws.Provider("p", region=REGION)
        Probe("probe", pulumi.ResourceOptions(providers=[provider]))

    run(program)
    probe, topic, provider = one(mocks, "probe"), one(mocks, "probe-topic"), one(mocks, "p")
    assert topic.parent_urn == probe.urn and topic.provider == provider.urn
    assert probe.registered_outputs == {"topic_arn": topic.state["arn"]}
    assert "aws" in probe.providers


def test_run_collects_stack_exports() -> None:
    mocks = fresh()

    def program() -> None:
        pulumi.export("bucket", aws.s3.Bucket("b", bucket="exported").bucket)
        pulumi.export("plain", 3)

    run(program)
    assert mocks.stack_exports == {"bucket": "exported", "plain": 3}


# --- StackReferences and the state-backend layout -------------------------------------------------
DEV = "s3://mlops-dev-pulumi-state?region=eu-west-2"
STAGING = "s3://mlops-staging-pulumi-state?region=eu-west-2"
DEV_STATE = {"organization/mlops-platform/dev": {"artifacts_bucket": "dev-artifacts"}}


def _read_dev(name: str = "organization/mlops-platform/dev") -> dict[str, Any]:
    got: dict[str, Any] = {}

    def program() -> None:
        ref = pulumi.StackReference(name)
        ref.require_output("artifacts_bucket").apply(lambda v: got.setdefault("bucket", v))

    run(program)
    return got


def test_reference_in_the_same_backend_resolves() -> None:
    mocks = fresh("staging", backend_url=DEV, backends={DEV: DEV_STATE})
    assert _read_dev() == {"bucket": "dev-artifacts"}
    assert mocks.reference_failures == []
    (ref,) = mocks.of_type("pulumi:pulumi:StackReference")
    assert ref.read and ref.state["outputs"] == DEV_STATE["organization/mlops-platform/dev"]


def test_bare_stack_name_means_the_current_project() -> None:
    mocks = fresh("staging", backend_url=DEV, backends={DEV: DEV_STATE})
    assert _read_dev("dev") == {"bucket": "dev-artifacts"} and not mocks.reference_failures


def test_reference_into_another_backend_raises_like_the_engine() -> None:
    fresh("staging", backend_url=STAGING, backends={DEV: DEV_STATE})
    with pytest.raises(StackReferenceError) as err:
        _read_dev()
    text = str(err.value)
    assert 'unknown stack "organization/mlops-platform/dev"' in text
    assert DEV in text and STAGING in text and "self-managed backend" in text


def test_lenient_reference_returns_outputs_and_records_the_failure() -> None:
    mocks = fresh("staging", backend_url=STAGING, backends={DEV: DEV_STATE},
                  strict_references=False)  # fmt: skip
    assert _read_dev() == {"bucket": "dev-artifacts"}
    (failure,) = mocks.reference_failures
    assert failure.referencing_stack == "organization/mlops-platform/staging"
    assert failure.referenced == "organization/mlops-platform/dev"
    assert (failure.backend, failure.found_in) == (STAGING, DEV)
    assert failure.reason.startswith('unknown stack "organization/mlops-platform/dev"')


def test_unknown_stack_anywhere() -> None:
    mocks = fresh("staging", backend_url=STAGING, strict_references=False)
    with pytest.raises(Exception, match="artifacts_bucket"):  # require_output of nothing
        _read_dev()
    (failure,) = mocks.reference_failures
    assert failure.found_in is None and "no backend holds" in failure.reason


def test_self_managed_backend_has_only_the_organization_organization() -> None:
    mocks = fresh("staging", backend_url=DEV, backends={DEV: DEV_STATE}, strict_references=False)
    with pytest.raises(Exception, match="artifacts_bucket"):
        _read_dev("acme/mlops-platform/dev")
    (failure,) = mocks.reference_failures
    assert failure.reason == "organization name must be 'organization'"


def test_stack_outputs_shorthand_is_the_same_backend() -> None:
    mocks = fresh("staging", stack_outputs=DEV_STATE)
    assert _read_dev() == {"bucket": "dev-artifacts"} and not mocks.reference_failures


def test_platform_backend_is_the_one_bootstrap_creates(stack_config: StackConfig) -> None:
    exported = build_bootstrap(load_stack_config("dev")).stack_exports["backend_url"]
    assert exported == platform_backend_url(stack_config)


@pytest.mark.parametrize("stack_config", ["staging"], indirect=True)
def test_build_stack_feeds_references_from_the_referenced_program(stack_config) -> None:
    """Staging reads dev's real exports; whether the read would work is the layout's verdict
    (holds for any layout: a shared backend, or no StackReference at all)."""
    mocks = build_stack("staging")
    dev = build_stack("dev").stack_exports
    refs = mocks.of_type("pulumi:pulumi:StackReference")
    for ref in refs:
        assert ref.state["outputs"] == dev, ref.name
    dev_backend = platform_backend_url(load_stack_config("dev"))
    crosses = bool(refs) and dev_backend != platform_backend_url(stack_config)
    assert [f.found_in for f in mocks.reference_failures] == ([dev_backend] if crosses else [])
    if crosses:
        with pytest.raises(StackReferenceError, match="unknown stack"):
            build_stack("staging", strict_references=True)
