"""The key prefixes use cases own in the shared artifacts bucket never coincide."""

from __future__ import annotations

import pytest

from mlops.errors import ManifestError
from mlops.naming import NameContext, artifact_prefixes
from mlops.usecases import check_artifact_prefixes

CTX = NameContext("dev", "111111111111", "eu-west-2")


def test_a_use_case_owns_its_name_and_its_pipelines_truncated_prefixes() -> None:
    assert artifact_prefixes(CTX, "remedy") == [
        "remedy/",
        "mlops-dev-remedy-bui/",
        "mlops-dev-remedy-dep/",
    ]


def test_use_cases_whose_pipeline_prefixes_coincide_are_refused() -> None:
    check_artifact_prefixes(["remedy", "peercase", "claimsfraud"])
    with pytest.raises(ManifestError, match="share the artifact prefix 'mlops-dev-claimsfrau/'"):
        check_artifact_prefixes(["claimsfrau1", "claimsfrau2"])
