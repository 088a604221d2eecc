"""The training flow's SageMaker side, derived from the real pipeline definition.

The training repo is rendered from its template, and its pipeline definition is built offline
with the sagemaker SDK (in a subprocess, so the SDK's import-time state stays out of this
process) from exactly the environment the platform gives the TrainingPipeline build. Every step
of that definition becomes the calls SageMaker makes: the pipeline role creating jobs (passing
roles, granting volume keys, experiments, registration), each job pulling its image, reading its
inputs and writing its outputs from the job's VPC subnets, and the model package's contents (its
model data and image), which the promotion and decision flows then deploy.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlops.rehearsal.estate import Estate
from mlops.rehearsal.model import AWS_SERVICE, PUBLIC, Actor, Call, Origin
from mlops.rehearsal.programs import CACHE_DIR

EXECUTION_ID = "rehearsal0001"
BEST_JOB = "rehearsal-tuning-001-abcdef"
_BUILD_SCRIPT = """
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "src"))
import importlib
from pathlib import Path
from mlops.delivery.run_pipeline import find_pipeline_module, settings_from_env
from mlops.delivery.training_code import locate
module = importlib.import_module(find_pipeline_module(Path(sys.argv[1])))
from mlops.sagemaker_pipelines import governed_pipeline
code, _ = locate(Path(sys.argv[1]), os.environ["USECASE"])  # what --upload-code uploads
os.environ["CODE_PREFIX"] = code.prefix
settings = settings_from_env(os.environ)
pipeline = governed_pipeline(settings, module.RECIPE)
print(json.dumps({"definition": json.loads(pipeline.definition()),
                  "pipeline_name": getattr(settings, "pipeline_name", ""),
                  "code_keys": code.keys(), "code_prefix": code.prefix}))
"""


def _project(estate: Estate, project_suffix: str) -> dict[str, Any]:
    """The recorded inputs of the use case's CodeBuild project `mlops-dev-<usecase><suffix>`."""
    from mlops.naming import NameContext, usecase_name

    run = estate.program("platform/dev")
    ctx = NameContext("dev", run.account, run.region)
    wanted = usecase_name(ctx, estate.runs.usecase, project_suffix.lstrip("-"))
    for r in run.resources:
        if r.type == "aws:codebuild/project:Project" and r.inputs.get("name") == wanted:
            return r.inputs
    raise LookupError(f"no CodeBuild project *{project_suffix} in platform/dev")


def _project_env(estate: Estate, project_suffix: str) -> dict[str, str]:
    inputs = _project(estate, project_suffix)
    variables = (inputs.get("environment") or {}).get("environmentVariables") or []
    return {v["name"]: str(v["value"]) for v in variables}


def render_training_repo(estate: Estate) -> Path:
    from mlops.rehearsal.programs import render_repo_for

    manifest = estate.runs.manifest
    return render_repo_for(manifest, estate.runs.configs["dev"], "training")


@functools.lru_cache(maxsize=4)
def _definition(repo: str, env_json: str) -> dict[str, Any]:
    env = {
        **os.environ,
        **json.loads(env_json),
        "AWS_DEFAULT_REGION": json.loads(env_json).get("AWS_REGION", "eu-west-2"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _BUILD_SCRIPT, repo],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"building the training pipeline definition failed:\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _built(estate: Estate) -> tuple[dict[str, Any], dict[str, str]]:
    from mlops.components.images import example_image_uris
    from mlops.naming import NameContext

    env = _project_env(estate, "-training-pipeline")
    env.setdefault("AWS_REGION", estate.runs.configs["dev"].region)
    # what the Images action hands on (#{Images.*}): the pushed digests, example values offline
    run = estate.program("platform/dev")
    ctx = NameContext("dev", run.account, run.region)
    env = {**example_image_uris(ctx, estate.runs.usecase), **env}
    repo = render_training_repo(estate)
    return _definition(str(repo), json.dumps(env, sort_keys=True)), env


def pipeline_definition(estate: Estate) -> tuple[dict[str, Any], dict[str, str]]:
    """(definition, build environment) of the use case's training pipeline, pointed at the code
    version the TrainingPipeline build uploads (`CODE_PREFIX` in the returned environment)."""
    built, env = _built(estate)
    return built["definition"], {**env, "CODE_PREFIX": built["code_prefix"]}


def code_upload_actor(estate: Estate) -> Actor:
    """The TrainingPipeline build uploading the rendered repo's `src/` content-addressed
    (`mlops.delivery.training_code`: exactly the keys `--upload-code` writes), SSE-KMS with the
    platform key, from wherever the build runs (its project's VPC, or CodeBuild's network)."""
    built, env = _built(estate)
    project = _project(estate, "-training-pipeline")
    vpc = project.get("vpcConfig") or {}
    origin = (
        Origin(
            "vpc",
            subnet_ids=tuple(vpc.get("subnets") or ()),
            security_group_ids=tuple(vpc.get("securityGroupIds") or ()),
        )
        if vpc
        else PUBLIC
    )
    bucket, key = env["ARTIFACT_BUCKET"], env["KMS_KEY_ARN"]
    sse = {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": key,
    }
    calls = tuple(
        Call("s3:PutObject", f"arn:aws:s3:::{bucket}/{k}", context=sse, why="training code")
        for k in built["code_keys"]
    )
    return Actor(
        flow="training",
        step="TrainingPipeline build: upload the training code (content-addressed)",
        principal=str(project.get("serviceRole", "")),
        account=estate.runs.configs["dev"].account_id,
        origin=origin,
        calls=calls,
        order=33,
        source="mlops/delivery/training_code.py (keys of the rendered training repo)",
        program="platform/dev",
    )


# --- expressions of the definition -----------------------------------------------------------
class _Resolver:
    def __init__(self, definition: dict[str, Any], pipeline_name: str = "pipeline") -> None:
        self.pipeline_name = pipeline_name
        self.params = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
        self.steps = {s["Name"]: s for s in _all_steps(definition.get("Steps", []))}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and "Std:Join" in value:
            join = value["Std:Join"]
            return join["On"].join(str(self(v)) for v in join["Values"])
        if isinstance(value, dict) and "Get" in value:
            return self.get(value["Get"])
        return value

    def get(self, ref: str) -> Any:
        if ref.startswith("Parameters."):
            return self(self.params.get(ref.removeprefix("Parameters.")))
        if ref == "Execution.PipelineExecutionId":
            return EXECUTION_ID
        if ref == "Execution.PipelineName":
            return self.pipeline_name
        m = re.match(r"Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]", ref)
        if m and m.group(1) in self.steps:
            outputs = self.steps[m.group(1)]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
            for o in outputs:
                if o["OutputName"] == m.group(2):
                    return self(o["S3Output"]["S3Uri"])
        if ".TrainingJobSummaries[0].TrainingJobName" in ref or "BestTrainingJob" in ref:
            return BEST_JOB
        return f"<{ref}>"


def _all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for step in steps:
        out.append(step)
        args = step.get("Arguments") or {}
        out += _all_steps(args.get("IfSteps", []) + args.get("ElseSteps", []))
    return out


def _s3_arn(uri: str) -> str:
    return "arn:aws:s3:::" + uri.removeprefix("s3://")


def _object_in(uri: str) -> str:
    """An object under an S3 prefix URI (or the object itself, when the last segment is a file
    name)."""
    last = uri.rstrip("/").rsplit("/", 1)[-1]
    if uri.endswith("/") or "." not in last:
        return _s3_arn(f"{uri.rstrip('/')}/object")
    return _s3_arn(uri)


def _ecr_arn(image: str) -> str:
    """`<acct>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` -> the repository's ARN."""
    host, _, rest = image.partition("/")
    account, _, tail = host.partition(".dkr.ecr.")
    region = tail.split(".", 1)[0]
    repo = re.split(r"[:@]", rest, maxsplit=1)[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{repo}"


# --- actors -------------------------------------------------------------------------------------
def pipeline_actors(estate: Estate) -> list[Actor]:
    definition, env = pipeline_definition(estate)
    resolve = _Resolver(definition, env.get("SM_PIPELINE_NAME", "pipeline"))
    cfg = estate.runs.configs["dev"]
    region, acct = cfg.region, cfg.account_id
    sm = f"arn:aws:sagemaker:{region}:{acct}"
    pipeline_role = env.get("SM_PIPELINE_ROLE_ARN", "")
    program = "platform/dev"
    actors: list[Actor] = []
    create: list[Call] = []
    experiment_config = definition.get("PipelineExperimentConfig")
    if experiment_config:
        experiment = str(resolve(experiment_config.get("ExperimentName"))).lower()
        trial = str(resolve(experiment_config.get("TrialName"))).lower()
        create += [
            Call("sagemaker:CreateExperiment", f"{sm}:experiment/{experiment}", why="experiment"),
            Call("sagemaker:CreateTrial", f"{sm}:experiment-trial/{trial}", why="trial"),
            Call(
                "sagemaker:AssociateTrialComponent",
                f"{sm}:experiment-trial/{trial}",
                why="group each job under the execution's trial",
            ),
        ]
    for step in _all_steps(definition.get("Steps", [])):
        kind, name, args = step["Type"], step["Name"].lower(), step.get("Arguments") or {}
        if kind == "Processing":
            job = f"{sm}:processing-job/pipelines-{EXECUTION_ID}-{name}"
            create += _job_creation("sagemaker:CreateProcessingJob", job, args, resolve)
            actors.append(_processing_job(step["Name"], args, resolve, region, acct, program))
            if CURRENT_MODEL in resolve.params:
                # the build passes the live model (the newest Approved package's model data):
                # the job reads it from the registry bucket too
                live = _Resolver(definition, resolve.pipeline_name)
                live.params[CURRENT_MODEL] = _live_model_uri(cfg, estate.runs.usecase)
                if f"Parameters.{CURRENT_MODEL}" in json.dumps(args):
                    actor = _processing_job(step["Name"], args, live, region, acct, program)
                    actors.append(replace(actor, step=f"{actor.step}, with the live model"))
        elif kind == "Tuning":
            job = f"{sm}:hyper-parameter-tuning-job/{EXECUTION_ID}-{name}"[:120]
            definition_ = args.get("TrainingJobDefinition") or {}
            create += _job_creation(
                "sagemaker:CreateHyperParameterTuningJob", job, definition_, resolve
            )
            actors.append(_training_jobs(step["Name"], definition_, resolve, region, acct, program))
        elif kind == "RegisterModel":
            group = resolve(args.get("ModelPackageGroupName"))
            status = resolve(args.get("ModelApprovalStatus"))
            create.append(
                Call(
                    "sagemaker:CreateModelPackage",
                    f"{sm}:model-package/{group}/1",
                    context={"sagemaker:ModelApprovalStatus": str(status)},
                    why=f"register the bundle ({status})",
                )
            )
    actors.insert(0, code_upload_actor(estate))
    actors.insert(
        1,
        Actor(
            flow="training",
            step="SageMaker pipeline: the pipeline role creates the jobs and registers the model",
            principal=pipeline_role,
            account=acct,
            origin=AWS_SERVICE,
            calls=tuple(create),
            order=41,
            source="training repo: pipeline definition (built offline)",
            program=program,
        ),
    )
    return actors


def _job_creation(
    action: str, job_arn: str, args: dict[str, Any], resolve: _Resolver
) -> list[Call]:
    role = resolve(args.get("RoleArn"))
    network = args.get("NetworkConfig") or args
    vpc = network.get("VpcConfig") or {}
    resources = args.get("ProcessingResources", {}).get("ClusterConfig") or args.get(
        "ResourceConfig", {}
    )
    volume_key = resources.get("VolumeKmsKeyId")
    context: dict[str, Any] = {}
    if vpc:
        context["sagemaker:VpcSubnets"] = list(vpc.get("Subnets", []))
        context["sagemaker:VpcSecurityGroupIds"] = list(vpc.get("SecurityGroupIds", []))
    if volume_key:
        context["sagemaker:VolumeKmsKey"] = volume_key
    calls = [
        Call(action, job_arn, context=context, why="create the job"),
        Call(
            "iam:PassRole",
            str(role),
            context={"iam:PassedToService": "sagemaker.amazonaws.com"},
            why="the job runs as its role",
        ),
        Call("sagemaker:AddTags", job_arn, why="pipeline tags on the job"),
    ]
    if volume_key:
        calls.append(
            Call(
                "kms:CreateGrant",
                volume_key,
                context={
                    "kms:GrantIsForAWSResource": True,
                    "kms:ViaService": "sagemaker.eu-west-2.amazonaws.com",
                },
                why="SageMaker encrypts the job's volumes with the key (a grant as the caller)",
            )
        )
    return calls


def _job_origin(args: dict[str, Any]) -> Origin:
    network = args.get("NetworkConfig") or args
    vpc = network.get("VpcConfig") or {}
    if not vpc:
        return AWS_SERVICE
    return Origin(
        "vpc",
        subnet_ids=tuple(vpc.get("Subnets", [])),
        security_group_ids=tuple(vpc.get("SecurityGroupIds", [])),
    )


def _image_calls(image: str) -> list[Call]:
    repo = _ecr_arn(image)
    return [
        Call("ecr:GetAuthorizationToken", "*", why="pull the image"),
        Call("ecr:BatchGetImage", repo, why=f"pull {image}"),
        Call("ecr:GetDownloadUrlForLayer", repo, why="image layers"),
    ]


CURRENT_MODEL = "CurrentModelUri"  # mlops.sagemaker_pipelines.CURRENT_MODEL_PARAMETER


def _live_model_uri(cfg: Any, usecase: str) -> str:
    """Where the newest Approved package's model data lives (the artifact contract)."""
    from mlops.delivery import artifacts
    from mlops.naming import names_for

    bucket = artifacts.registry_bucket(names_for(cfg, "dev"))
    return f"s3://{bucket}/{artifacts.models_prefix(usecase)}{EXECUTION_ID}/model.tar.gz"


def _processing_job(
    name: str, args: dict[str, Any], resolve: _Resolver, region: str, acct: str, program: str
) -> Actor:
    image = str(resolve(args["AppSpecification"]["ImageUri"]))
    calls = _image_calls(image)
    for item in args.get("ProcessingInputs", []):
        uri = str(resolve(item["S3Input"]["S3Uri"]))
        calls.append(Call("s3:GetObject", _object_in(uri), why=f"input {item['InputName']}: {uri}"))
    out = args.get("ProcessingOutputConfig") or {}
    key = out.get("KmsKeyId")
    for item in out.get("Outputs", []):
        uri = str(resolve(item["S3Output"]["S3Uri"]))
        calls.append(_put(uri, key, f"output {item['OutputName']}"))
    calls += _job_logs(region, acct, "ProcessingJobs")
    return Actor(
        flow="training",
        step=f"SageMaker pipeline: {name} (processing job)",
        principal=str(resolve(args.get("RoleArn"))),
        account=acct,
        origin=_job_origin(args),
        calls=tuple(calls),
        order=42,
        source="training repo: pipeline definition (built offline)",
        program=program,
    )


def _training_jobs(
    name: str, args: dict[str, Any], resolve: _Resolver, region: str, acct: str, program: str
) -> Actor:
    image = str(resolve(args["AlgorithmSpecification"]["TrainingImage"]))
    calls = _image_calls(image)
    for channel in args.get("InputDataConfig", []):
        uri = str(resolve(channel["DataSource"]["S3DataSource"]["S3Uri"]))
        calls.append(
            Call("s3:GetObject", _object_in(uri), why=f"channel {channel['ChannelName']}: {uri}")
        )
    out = args.get("OutputDataConfig") or {}
    uri = str(resolve(out.get("S3OutputPath", "")))
    calls.append(_put(f"{uri}/{BEST_JOB}/output/model.tar.gz", out.get("KmsKeyId"), "model"))
    calls += _job_logs(region, acct, "TrainingJobs")
    if args.get("AlgorithmSpecification", {}).get("MetricDefinitions"):
        calls.append(
            Call(
                "cloudwatch:PutMetricData",
                "*",
                context={"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"},
                why="training metrics (the tuner's objective)",
            )
        )
    return Actor(
        flow="training",
        step=f"SageMaker pipeline: {name} (tuning: training jobs)",
        principal=str(resolve(args.get("RoleArn"))),
        account=acct,
        origin=_job_origin(args),
        calls=tuple(calls),
        order=43,
        source="training repo: pipeline definition (built offline)",
        program=program,
    )


def _put(uri: str, key: str | None, why: str) -> Call:
    context = {}
    if key:
        context = {
            "s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": key,
        }
    target = uri.rstrip("/") + "/part-0000" if "model.tar.gz" not in uri else uri
    return Call("s3:PutObject", _s3_arn(target), context=context, why=why)


def _job_logs(region: str, acct: str, kind: str) -> list[Call]:
    group = f"arn:aws:logs:{region}:{acct}:log-group:/aws/sagemaker/{kind}"
    return [
        Call("logs:CreateLogGroup", group, why="job logs"),
        Call("logs:CreateLogStream", f"{group}:log-stream:rehearsal/algo-1"),
        Call("logs:PutLogEvents", f"{group}:log-stream:rehearsal/algo-1"),
    ]


def package_contract(estate: Estate) -> dict[str, str]:
    """{model-data: S3 object ARN, image: ECR repository ARN} of the registered package."""
    definition, _ = pipeline_definition(estate)
    resolve = _Resolver(definition)
    for step in _all_steps(definition.get("Steps", [])):
        if step["Type"] == "RegisterModel":
            container = step["Arguments"]["InferenceSpecification"]["Containers"][0]
            return {
                "model-data": _s3_arn(str(resolve(container["ModelDataUrl"]))),
                "image": _ecr_arn(str(resolve(container["Image"]))),
            }
    raise LookupError("the training pipeline registers no model package")


__all__ = ["CACHE_DIR", "package_contract", "pipeline_actors", "pipeline_definition"]
