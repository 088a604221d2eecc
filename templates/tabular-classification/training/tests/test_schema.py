import pandas as pd
import pytest

from tabular_core.schema import SchemaError, synthetic_frame


def test_synthetic_frame_is_reproducible_and_has_both_classes(schema) -> None:
    a = synthetic_frame(schema, rows=300, seed=7)
    b = synthetic_frame(schema, rows=300, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == [*schema.features, schema.target]
    assert set(a[schema.target]) == {0, 1}


def test_missing_column_is_named(schema, frame) -> None:
    dropped = schema.features[0]
    with pytest.raises(SchemaError, match=f"missing column\\(s\\): {dropped}"):
        schema.check_frame(frame.drop(columns=[dropped]))


def test_target_must_be_binary(schema, frame) -> None:
    bad = frame.copy()
    bad.loc[0, schema.target] = 3
    with pytest.raises(SchemaError, match="must be 0/1"):
        schema.check_frame(bad)


def test_numeric_columns_reject_text(schema, frame) -> None:
    if not schema.numeric:
        pytest.skip("this use case has no numeric features")
    bad = frame.copy()
    bad[schema.numeric[0]] = bad[schema.numeric[0]].astype(object)
    bad.loc[0, schema.numeric[0]] = "n/a"
    with pytest.raises(SchemaError, match="non-numeric"):
        schema.check_frame(bad)
