"""The real program (platform/__main__.py) creates one UseCase per manifest in every stack and the
ServiceCatalog in dev, wired to the platform-core components."""

from __future__ import annotations

from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, policy_documents
from mlops.usecases import load_manifests


def test_one_usecase_component_per_manifest(
    program: RecordingMocks, stack_config: StackConfig
) -> None:
    names = sorted(r.name for r in program.of_type("mlops:usecase:UseCase"))
    assert names == sorted(f"usecase-{m.name}" for m in load_manifests())
    catalogs = program.of_type("mlops:catalog:ServiceCatalog")
    assert len(catalogs) == (1 if stack_config.is_governance else 0)
    projects = program.of_type(
        "aws:sagemaker/servicecatalogPortfolioStatus:ServicecatalogPortfolioStatus"
    )
    assert len(projects) == (1 if stack_config.is_governance else 0), "one owner of the switch"


def test_usecase_reuses_the_platform_key_and_model_role(
    program: RecordingMocks, stack_config: StackConfig
) -> None:
    env, acct = stack_config.environment, stack_config.account_id
    # the deployer's managed policies (-1, -2, ...) and its inline policy (dev has none)
    parts = [
        d
        for n, d in policy_documents(program.resources)
        if n.startswith("usecase-remedy-deployer-policy") and n.endswith(".policy")
    ]
    assert len(parts) >= 2
    deployer = {"Statement": [s for d in parts for s in d["Statement"]]}
    statements = {s["Sid"]: s for s in deployer["Statement"]}
    # the generated deployer (17.3) uses keys only as AWS services do for it (grants, the
    # functions' environment): in its own account, never directly
    kms = [s for s in deployer["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    assert kms
    for s in kms:
        assert s["Resource"] == f"arn:aws:kms:{stack_config.region}:{acct}:key/*", s
        assert "kms:ViaService" in s["Condition"]["StringEquals"], s
        aliases = s["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
        aliases = [aliases] if isinstance(aliases, str) else aliases
        assert aliases and all(a.startswith(f"alias/mlops-{env}-") for a in aliases), s
    platform_role = statements.get("PassPlatformModelRole", {}).get("Resource")
    if stack_config.is_governance:
        assert platform_role is None  # dev has no platform model-execution role
    else:
        assert platform_role == f"arn:aws:iam::{acct}:role/mlops-{env}-model-execution"
        roles = {r.inputs.get("name") for r in program.of_type("aws:iam/role:Role")}
        assert f"mlops-{env}-model-execution" in roles
