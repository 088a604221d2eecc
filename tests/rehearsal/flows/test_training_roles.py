"""The SageMaker pipeline role (which its jobs also run as) may do what the jobs of the real
pipeline definition do — volume-key grants, the execution's experiment and trial, training
metrics, job logs — and nothing wider."""

from __future__ import annotations

import pytest

from mlops.rehearsal.model import AWS_SERVICE, Call
from mlops.rehearsal.runner import Runner
from mlops.rehearsal.training import pipeline_actors, pipeline_definition

pytestmark = pytest.mark.xdist_group("rehearsal")
ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops-dev-remedy-sm-pipeline"
SM = f"arn:aws:sagemaker:eu-west-2:{ACCOUNT}"
NEEDED = {
    "kms:CreateGrant",
    "sagemaker:CreateExperiment",
    "sagemaker:CreateTrial",
    "sagemaker:AssociateTrialComponent",
    "cloudwatch:PutMetricData",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}


def test_the_jobs_of_the_pipeline_definition_get_what_they_use(estate) -> None:
    runner = Runner(estate)
    steps = [s for a in pipeline_actors(estate) for s in runner.run_actor("training", a)]
    used = [s for s in steps if s.action in NEEDED]
    assert {s.action for s in used} == NEEDED
    denied = [(s.step, s.action, s.verdict.reason) for s in used if not s.ok]
    assert denied == []
    experiment = next(s for s in used if s.action == "sagemaker:CreateExperiment")
    assert experiment.resource == f"{SM}:experiment/mlops-dev-remedy-training"


def _key(estate) -> str:
    """The key the jobs' volumes are encrypted with (as the platform gives it to the build)."""
    _, env = pipeline_definition(estate)
    return env["KMS_KEY_ARN"]


def _verdict(estate, call: Call) -> str:
    return Runner(estate).evaluate_call(ROLE, AWS_SERVICE, ACCOUNT, call).outcome


def test_grants_only_for_aws_resources_through_sagemaker(estate) -> None:
    key = _key(estate)
    via = {"kms:ViaService": "sagemaker.eu-west-2.amazonaws.com"}
    allowed = Call("kms:CreateGrant", key, {**via, "kms:GrantIsForAWSResource": True})
    assert _verdict(estate, allowed) == "allowed"
    assert _verdict(estate, Call("kms:CreateGrant", key, via)) == "denied"
    direct = {"kms:GrantIsForAWSResource": True, "kms:ViaService": "ec2.eu-west-2.amazonaws.com"}
    assert _verdict(estate, Call("kms:CreateGrant", key, direct)) == "denied"


def test_metrics_only_in_the_training_jobs_namespace(estate) -> None:
    ns = "cloudwatch:namespace"
    ok = Call("cloudwatch:PutMetricData", "*", {ns: "/aws/sagemaker/TrainingJobs"})
    assert _verdict(estate, ok) == "allowed"
    other = Call("cloudwatch:PutMetricData", "*", {ns: "AWS/Billing"})
    assert _verdict(estate, other) == "denied"


def test_experiments_only_of_the_use_cases_pipeline(estate) -> None:
    own = Call("sagemaker:CreateExperiment", f"{SM}:experiment/mlops-dev-remedy-training")
    assert _verdict(estate, own) == "allowed"
    other = Call("sagemaker:CreateExperiment", f"{SM}:experiment/mlops-dev-peercase-training")
    assert _verdict(estate, other) == "denied"
    logs = f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:/aws/lambda/anything"
    assert _verdict(estate, Call("logs:CreateLogGroup", logs)) == "denied"


def test_the_jobs_read_the_code_version_the_build_uploads(estate) -> None:
    import re

    _, env = pipeline_definition(estate)
    prefix = env["CODE_PREFIX"]
    assert re.fullmatch(r"remedy/code/[0-9a-f]{64}", prefix), prefix
    runner = Runner(estate)
    actors = pipeline_actors(estate)
    upload = next(a for a in actors if a.step.startswith("TrainingPipeline build: upload"))
    assert upload.principal == f"arn:aws:iam::{ACCOUNT}:role/mlops-dev-remedy-build"
    assert any(c.resource.endswith(f"{prefix}/source.tar.gz") for c in upload.calls)
    steps = [s for a in actors for s in runner.run_actor("training", a)]
    reads = [s for s in steps if s.action == "s3:GetObject" and f"/{prefix}/" in s.resource]
    assert {s.step for s in reads} >= {
        "SageMaker pipeline: Preprocess (processing job)",
        "SageMaker pipeline: Tune (tuning: training jobs)",
        "SageMaker pipeline: Evaluate (processing job)",
    }
    assert [(s.resource, s.verdict.reason) for s in reads if not s.ok] == []
    # without the upload nothing would write what the jobs read
    uploaded = {c.resource for c in upload.calls}
    runner.object_writers[:] = [w for w in runner.object_writers if w not in uploaded]
    tarball = Call("s3:GetObject", f"arn:aws:s3:::{env['ARTIFACT_BUCKET']}/{prefix}/source.tar.gz")
    assert runner.missing(tarball).startswith("nothing writes")


def test_pipeline_show_offline_reports_the_definitions_digests_and_code(estate) -> None:
    """What `mlops pipeline show remedy` prints: the rehearsal's definition (stand-in digests),
    one code version, the version the TrainingPipeline build uploads."""
    from mlops.components.images import EXAMPLE_DIGESTS
    from mlops.delivery.pipeline_summary import summarize

    definition, env = pipeline_definition(estate)
    summary = summarize(definition)
    assert summary.problems == []
    digests = {i.kind: i.digest for i in summary.images}
    assert digests == {
        "training": EXAMPLE_DIGESTS["training"],
        "processing": EXAMPLE_DIGESTS["training"],
        "model package": EXAMPLE_DIGESTS["inference"],
    }
    assert summary.code_versions == [f"s3://{env['ARTIFACT_BUCKET']}/{env['CODE_PREFIX']}"]
