"""Pulumi building blocks, one module per block. Type tokens never change (renames need aliases).

Platform (every stack unless noted):

- account.py: AccountSettings (`mlops:account:AccountSettings`): once-per-account settings
- keys.py: Keys (`mlops:keys:Keys`): customer-managed KMS keys, one per purpose
- network.py: Network (`mlops:network:Network`): private VPC, endpoints, flow logs
- storage.py: SecureBucket (`mlops:storage:SecureBucket`), Storage (`mlops:storage:Storage`)
- audit.py: Audit (`mlops:audit:Audit`): CloudTrail, GuardDuty, Config, Inspector
- logs.py: `encrypted_log_group`, the log group every component that writes logs uses (a helper)
- identity.py: StudioRoles (`mlops:identity:StudioRoles`), dev
- approvers.py: PersonaPermissionSets (`mlops:identity:PersonaPermissionSets`) and
  UseCaseApprovers (`mlops:identity:UseCaseApprovers`): who approves, through Identity Center
- studio.py: Studio (`mlops:studio:Studio`), dev
- packages.py: PackageRepository (`mlops:packages:PackageRepository`), dev: the CodeArtifact index
- catalog.py: ServiceCatalog (`mlops:catalog:ServiceCatalog`), dev: new use cases from Studio
- crossaccount.py: DeploymentAccess (`mlops:crossaccount:DeploymentAccess`), staging/prod: the
  model-execution role

Per use case (built from `usecases/<name>.yaml`):

- usecase.py: UseCase (`mlops:usecase:UseCase`), composed of deployment_target.py
  (`mlops:usecase:DeploymentTarget`, every stack), build_pipeline.py (`mlops:usecase:BuildPipeline`)
  and deploy_pipeline.py (`mlops:usecase:DeployPipeline`, with rollback_trigger.py
  `mlops:usecase:RollbackTrigger`: a rejected live package rolls back) in dev; usecase_builds.py
  (shapes both pipelines share, `DeliveryArgs`), usecase_roles.py (the delivery roles' policies
  and the names other stacks rely on) and usecase_actors.py (the people and the attacks the
  rehearsal checks) hold what those share
- images.py: UseCaseImages (`mlops:images:UseCaseImages`), dev: ECR repositories

Inference (built by a use case's inference repo):

- serving.py: InferenceService (`mlops:serving:InferenceService`), composed of
  serving_endpoint.py (`mlops:serving:ModelEndpoint`), serving_api.py
  (`mlops:serving:DecisionApi`) and serving_dashboard.py (the stage's operations dashboard, a
  helper)
- analytics.py: DecisionAnalytics (`mlops:analytics:DecisionAnalytics`), with
  analytics_monitor.py (`mlops:analytics:ModelMonitor`), analytics_health.py
  (`mlops:analytics:ModelHealthAlarms`), analytics_health_job.py (`mlops:analytics:ModelHealthJob`,
  the scheduled prod job publishing what the alarms watch) and analytics_snowflake.py
  (`mlops:analytics:SnowflakeIngest`, with `SnowflakeArgs`)
"""
