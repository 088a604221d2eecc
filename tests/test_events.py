"""Decision-event schema: round trip, JSON Schema, pseudonymisation and PII redaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from analytics.factories import KEY, action, decision, outcome
from pydantic import ValidationError

from mlops.events import PiiError, assert_no_pii, pseudonymise, to_log_line

from remedy_core.events import (  # isort: skip - on the path once factories is imported
    TABLES,
    flatten_event,
    json_schemas,
    parse_event,
    redact_claim,
    write_json_schemas,
)

# Known PII values that must never reach the analytics stream.
PII = {
    "name": "Jane Elizabeth Doe",
    "email": "jane.doe@example.co.uk",
    "phone": "07700 900123",
    "plate": "AB12 CDE",
    "postcode": "SW1A 1AA",
    "vin": "WF0XXXGCDX1234567",
    "notes": "Customer Jane said the other driver was on the phone, call back on 07700 900123",
    "address": "10 Downing Street, London",
}


def _raw_claim() -> dict:
    return {
        "claim_id": "CLM-42",
        "policyholder_name": PII["name"],
        "contact": {"email": PII["email"], "phone": PII["phone"]},
        "registration": PII["plate"],
        "postcode": PII["postcode"],
        "notes": PII["notes"],
        "region": "London",
        "vehicle": {
            "make": "Ford",
            "model": "Focus",
            "year": 2018,
            "mileage": 61000,
            "powertrain": "diesel",
            "adas_fitted": True,
            "vin": PII["vin"],
            "registration_plate": PII["plate"],
        },
        "accident": {
            "impact_point": "rear",
            "delta_v_kph": 31.0,
            "zones_hit": ["rear_bumper", "boot"],
            "zone_severity": {"rear_bumper": 0.7, "boot": 0.3},
            "airbags_deployed": False,
            "drivable": True,
            "description": PII["notes"],
            "third_party_address": PII["address"],
        },
        "incident_date": "2026-02-01",
    }


def test_decision_event_round_trips_through_json():
    event = decision()
    line = to_log_line(event)
    back = parse_event(line)
    assert back == event
    assert parse_event(json.loads(line)) == event
    assert back.event_type == "decision" and back.schema_version == "1.0"


def test_every_event_type_validates_against_its_exported_json_schema(tmp_path):
    dec = decision()
    events = {
        "decision": dec,
        "handler_action": action(
            dec, "override", override_reason="VALUATION_DISPUTE", final_recommendation="repair"
        ),
        "claim_outcome": outcome(
            dec,
            closed_at=datetime(2026, 4, 1, tzinfo=UTC),
            final_path="repaired",
            actual_repair_cost=2600.0,
        ),
    }
    schemas = json_schemas()
    for kind, event in events.items():
        jsonschema.validate(json.loads(to_log_line(event)), schemas[kind])
        assert parse_event(to_log_line(event)).event_type == kind
    paths = write_json_schemas(str(tmp_path))
    assert sorted(p.rsplit("/", 1)[1] for p in paths) == [
        "claim_outcome.v1.schema.json",
        "decision.v1.schema.json",
        "handler_action.v1.schema.json",
    ]
    # The schema forbids extra properties, so a PII field is rejected by schema validators too.
    bad = json.loads(to_log_line(dec)) | {"policyholder_name": PII["name"]}
    with pytest.raises(jsonschema.ValidationError, match="policyholder_name"):
        jsonschema.validate(bad, schemas["decision"])


def test_pseudonymise_is_keyed_and_deterministic():
    a = pseudonymise("CLM-42", KEY)
    assert a == pseudonymise("CLM-42", KEY)
    assert a != pseudonymise("CLM-42", b"another-key-0123456789")
    assert a != pseudonymise("CLM-43", KEY)
    assert len(a) == 64 and "CLM" not in a
    with pytest.raises(PiiError, match="shorter than 16 bytes"):
        pseudonymise("CLM-42", b"short")


def test_redact_claim_keeps_only_allow_listed_inputs():
    inputs = redact_claim(_raw_claim())
    dumped = inputs.model_dump_json()
    for kind, value in PII.items():
        assert value not in dumped, kind
    assert "Jane" not in dumped and "07700" not in dumped
    assert inputs.mileage == 61000 and inputs.delta_v_kph == 31.0
    assert inputs.vehicle_age_years == 8.0  # 2026 incident, 2018 car
    assert inputs.max_zone_severity == 0.7
    assert inputs.zones_hit == ["rear_bumper", "boot"]


def test_full_event_from_raw_claim_carries_no_pii():
    dec = decision(inputs=redact_claim(_raw_claim()), claim_id_hash=pseudonymise("CLM-42", KEY))
    line = to_log_line(dec)
    for kind, value in PII.items():
        assert value not in line, kind
    assert "CLM-42" not in line


def test_unknown_fields_are_rejected_so_pii_cannot_be_smuggled_in():
    with pytest.raises(ValidationError, match="policyholder_name"):
        decision(policyholder_name=PII["name"])
    with pytest.raises(ValidationError, match="registration"):
        decision(
            vehicle={
                "make": "Ford",
                "model": "Focus",
                "year": 2019,
                "powertrain": "petrol",
                "registration": PII["plate"],
            }
        )


@pytest.mark.parametrize("kind", ["email", "phone", "plate", "postcode"])
def test_pii_in_reason_sentences_is_scrubbed(kind):
    dec = decision(
        reasons=[{"code": "REPAIR_BELOW_THRESHOLD", "sentence": f"Handler note: {PII[kind]} ok"}]
    )
    assert PII[kind] not in to_log_line(dec)
    assert "[redacted]" in dec.reasons[0].sentence


@pytest.mark.parametrize("kind", ["email", "phone", "plate", "postcode"])
def test_pii_in_a_catalogue_field_is_refused(kind):
    # Label fields allow letters/digits/spaces, so a plate or postcode would pass the pattern:
    # the PII check refuses it and names the field.
    value = PII[kind]
    if kind in ("email",):
        with pytest.raises(ValidationError, match="region"):
            decision(region=value)
    else:
        with pytest.raises(PiiError, match="'region'"):
            decision(region=value)


def test_assert_no_pii_accepts_a_clean_event_and_names_field_of_a_dirty_dict():
    assert_no_pii(decision())
    with pytest.raises(PiiError, match=r"field 'a\.b' looks like personal data \(email\)"):
        assert_no_pii({"a": {"b": "x jane.doe@example.co.uk"}})


def test_handler_override_needs_a_coded_reason():
    dec = decision()
    with pytest.raises(ValidationError, match="override_reason and final_recommendation"):
        action(dec, "override")
    with pytest.raises(ValidationError, match="override_reason"):
        action(dec, "override", override_reason="he was nice", final_recommendation="repair")
    with pytest.raises(ValidationError, match="only allowed when action='override'"):
        action(dec, "accept", override_reason="VALUATION_DISPUTE")
    ok = action(
        dec, "override", override_reason="HIDDEN_DAMAGE_FOUND", final_recommendation="write_off"
    )
    assert ok.handler_id_hash == pseudonymise("handler-7", KEY)


def test_naive_timestamps_and_unordered_quantiles_are_rejected():
    with pytest.raises(ValidationError, match="timezone"):
        decision(decided_at=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="repair_cost_p10 <= repair_cost_p50"):
        decision(model_outputs={**decision().model_outputs.model_dump(), "repair_cost_p10": 1e6})


def test_flatten_gives_exactly_the_table_columns():
    dec = decision()
    table, row = flatten_event(dec)
    assert table == "decision_events"
    assert list(row) == list(TABLES["decision"][1])
    assert row["decided_at"] == "2026-03-14T10:30:00"
    assert row["zones_hit_count"] == 2 and row["bundle_version"] == "remedy-20261128-01"
    for kind, ev in (
        ("handler_action", action(dec)),
        ("claim_outcome", outcome(dec, closed_at=dec.decided_at, final_path="repaired")),
    ):
        assert list(flatten_event(ev)[1]) == list(TABLES[kind][1])


def test_committed_json_schemas_match_the_models():
    from pathlib import Path

    committed = Path(__file__).resolve().parents[1] / "docs" / "schemas"
    for kind, schema in json_schemas().items():
        path = committed / f"{kind}.v1.schema.json"
        assert json.loads(path.read_text()) == schema, (
            f"{path} is stale: run remedy_core.events.write_json_schemas('docs/schemas')"
        )
