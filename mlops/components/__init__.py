"""Pulumi building blocks, one module per block. Type tokens never change (renames need aliases).

- network.py: Network (`mlops:network:Network`)
- keys.py: Keys (`mlops:keys:Keys`)
- storage.py: SecureBucket (`mlops:storage:SecureBucket`), Storage (`mlops:storage:Storage`)
- identity.py: StudioRoles (`mlops:identity:StudioRoles`)
- studio.py: Studio (`mlops:studio:Studio`)
- images.py: UseCaseImages (`mlops:images:UseCaseImages`), dev, per use case: ECR repositories
- packages.py: PackageRepository (`mlops:packages:PackageRepository`), dev: the CodeArtifact index
- audit.py: Audit (`mlops:audit:Audit`)
- crossaccount.py: DeploymentAccess in staging/prod (`mlops:crossaccount:DeploymentAccess`): the
  model-execution role
- usecase.py: UseCase (`mlops:usecase:UseCase`), composed of deployment_target.py
  (`mlops:usecase:DeploymentTarget`, every stack), build_pipeline.py (`mlops:usecase:BuildPipeline`)
  and deploy_pipeline.py (`mlops:usecase:DeployPipeline`) in dev; usecase_builds.py and
  usecase_roles.py hold what those share
"""
