"""Pulumi building blocks, one module per block. Type tokens never change (renames need aliases).

- network.py: Network (`mlops:network:Network`)
- keys.py: Keys (`mlops:keys:Keys`)
- storage.py: SecureBucket (`mlops:storage:SecureBucket`), Storage (`mlops:storage:Storage`)
- identity.py: StudioRoles (`mlops:identity:StudioRoles`)
- studio.py: Studio (`mlops:studio:Studio`)
- audit.py: Audit (`mlops:audit:Audit`)
- crossaccount.py: DeployPipelineRole in dev (`mlops:crossaccount:DeployPipelineRole`),
  DeploymentAccess in staging/prod (`mlops:crossaccount:DeploymentAccess`)
"""
