"""The real program (platform/__main__.py) creates one UseCase per manifest in every stack and the
ServiceCatalog in dev, wired to the platform-core components."""

from __future__ import annotations

import json

from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks
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


def test_usecase_reuses_platform_keys_network_and_roles(
    program: RecordingMocks, stack_config: StackConfig
) -> None:
    target = program.named("usecase-remedy-deploy-target")
    artifacts_key = program.named("keys-artifacts").state["arn"]
    assert target.inputs["keyId"] == artifacts_key
    raw = target.inputs["value"]
    value = json.loads(raw["value"] if isinstance(raw, dict) else raw)  # secret values are wrapped
    env = stack_config.environment
    # staging/prod: the platform's model-execution role (DeploymentAccess); dev has none, so the
    # use case's dev endpoint runs as its own role, which must then exist in the program
    role = "mlops-dev-remedy-model" if env == "dev" else f"mlops-{env}-model-execution"
    assert value["model_execution_role_arn"].endswith(f":role/{role}")
    roles = {r.inputs.get("name") for r in program.of_type("aws:iam/role:Role")}
    assert role in roles
    assert value["subnet_ids"] and all(s for s in value["subnet_ids"])
    assert value["endpoint"]["mode"] in ("serverless", "realtime")
