"""Use-case delivery: pure helpers (event patterns, IAM documents, buildspecs, CloudFormation
templates, promotion metadata) and the scripts the builds run. No Pulumi and no boto3 at import
time; adapters are separate.

Pure documents:

- ``buildspecs``: the CodeBuild buildspecs; ``cfn``: the Service Catalog product template;
  ``events``: the EventBridge rule that starts a deploy pipeline, and a matcher to test it
- ``policies``: the delivery roles' IAM documents (built with ``mlops.iam``); ``deployer``: the
  deployer role's policy, from ``deployer_permissions`` (derived from what the inference
  program registers)
- ``artifacts``: the artifact contract (where a model's artifacts live, who reads them, both
  sides of every grant); ``promotion``: what each deployment records on the model package

Run by the builds and the CLI:

- ``run_pipeline``: upsert and start a use case's SageMaker Pipeline; ``training_code``: the
  content-addressed training code the jobs read; ``pipeline_summary``: ``mlops pipeline show``
- ``deploy``: the deploy pipeline's steps around the inference repo's Pulumi program;
  ``rollback``: put a previous approved package back, through the pipeline; ``commands``:
  ``mlops promotions``
- ``locked_install``: hash-pinned installs from a repo's ``uv.lock``; ``project_script``: run a
  repo's console script without installing it; ``toolchain``: Pulumi, its plugins and uv from
  CodeArtifact
- ``onboard_trigger``: the Lambda behind the product's onboarding custom resource
"""
