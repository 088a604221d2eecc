"""Per-use-case approvers on the real estate: only a use case's own leads, signed in with IAM
Identity Center, pass its gates and approve its packages; the peer use case is led by another
lead."""

from __future__ import annotations

import pytest

from mlops.rehearsal.scenarios import run_declared

pytestmark = pytest.mark.xdist_group("rehearsal")


@pytest.fixture(scope="module")
def attacks(runner):
    return run_declared(runner, "attacks").steps


@pytest.fixture(scope="module")
def promotion(runner):
    return run_declared(runner, "promotion").steps


@pytest.fixture(scope="module")
def runner(estate):
    from mlops.rehearsal.runner import Runner

    return Runner(estate)


def test_the_peer_use_case_is_led_by_another_lead(estate) -> None:
    trust = estate.principals[
        "arn:aws:iam::111111111111:role/mlops-dev-peercase-approver"
    ].trust_policy.document
    mine = estate.principals[
        "arn:aws:iam::111111111111:role/mlops-dev-remedy-approver"
    ].trust_policy.document
    assert "sam.reyes@" in str(trust) and "ellen.ward@" not in str(trust)
    assert "ellen.ward@" in str(mine) and "sam.reyes@" not in str(mine)


def test_a_lead_of_another_use_case_cannot_approve(attacks) -> None:
    steps = [s for s in attacks if s.step == "a lead of another use case approves remedy"]
    assert len(steps) == 4
    for s in steps:
        assert s.verdict.outcome == "denied", (s.action, s.verdict.reason)
    assume = [s for s in steps if s.action == "sts:AssumeRole"]
    assert all("trust policy of mlops-dev-remedy-approver" in s.verdict.reason for s in assume)
    cross = [s for s in attacks if s.step == "the remedy approver role approves another use case"]
    assert len(cross) == 3 and all(s.verdict.outcome == "denied" for s in cross)


def test_studio_roles_and_data_scientists_never_approve(attacks) -> None:
    for step in (
        "a Studio execution role approves (only people approve)",
        "a data scientist's Identity Center session approves remedy",
    ):
        found = [s for s in attacks if s.step == step]
        assert found, step
        assert all(s.verdict.outcome == "denied" for s in found), step


def test_the_lead_approves_through_identity_center(promotion) -> None:
    steps = [
        s
        for s in promotion
        if s.step
        in (
            "the lead signs in with Identity Center and takes the approver role",
            "the lead approves the package in the registry",
            "the lead approves staging",
            "the lead approves prod",
        )
    ]
    assert len(steps) == 8
    for s in steps:
        assert s.verdict.outcome == "allowed", (s.step, s.action, s.verdict.reason)
    assert {s.principal.rsplit("/", 1)[-1] for s in steps} == {
        "AWSReservedSSO_MlopsLeadDataScientist_0123456789abcdef",
        "mlops-dev-remedy-approver",
    }
