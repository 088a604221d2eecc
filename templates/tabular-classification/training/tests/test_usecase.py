"""The rendered settings are consistent with each other and with the model code."""

from tabular_core import usecase
from tabular_training import estimator


def test_features_exclude_target_and_are_unique() -> None:
    features = [*usecase.NUMERIC_FEATURES, *usecase.CATEGORICAL_FEATURES]
    assert features, "the use case has no features"
    assert len(set(features)) == len(features)
    assert usecase.TARGET not in features


def test_gate_settings_are_sane() -> None:
    assert 0 < usecase.EVAL_THRESHOLD <= 1
    assert 1 <= usecase.TUNING_MAX_PARALLEL <= usecase.TUNING_MAX_JOBS


def test_estimator_matches_the_chosen_family() -> None:
    assert estimator.FAMILY == usecase.MODEL_FAMILY
    assert set(estimator.DEFAULT_PARAMS) == set(estimator.SEARCH_SPACE)
