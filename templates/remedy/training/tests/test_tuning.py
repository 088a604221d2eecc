"""Search space declared once; local tuning in rounds; deterministic for a seed."""

import math

import pytest

from remedy_training.search_space import SEARCH_SPACE, optuna_distributions
from remedy_training.tuning import best_so_far, tune


def _toy(hp: dict) -> float:
    return (math.log(hp["learning_rate"]) + 2.5) ** 2 + (hp["num_leaves"] - 40) ** 2 / 1e3


def test_optuna_distributions_cover_the_search_space():
    dists = optuna_distributions()
    assert list(dists) == [p.name for p in SEARCH_SPACE]
    for p in SEARCH_SPACE:
        d = dists[p.name]
        assert (d.low, d.high, d.log) == (p.low, p.high, p.log)


def test_rounds_of_parallel_trials_and_sqlite_study(tmp_path):
    res = tune(_toy, max_jobs=12, max_parallel=4, seed=1, storage=tmp_path / "s.db")
    assert res.rounds == 3 and len(res.study.trials) == 12
    assert sorted({t.user_attrs["round"] for t in res.study.trials}) == [0, 1, 2]
    assert (tmp_path / "s.db").is_file()
    assert res.best_value == min(t.value for t in res.study.trials)


def test_a_second_run_on_the_same_storage_starts_a_fresh_study(tmp_path):
    # an earlier (or interrupted) run left its study in the work dir: the next run replaces it
    first = tune(_toy, max_jobs=4, max_parallel=2, seed=3, storage=tmp_path / "s.db")
    second = tune(_toy, max_jobs=4, max_parallel=2, seed=3, storage=tmp_path / "s.db")
    assert len(second.study.trials) == 4
    assert [t.params for t in second.study.trials] == [t.params for t in first.study.trials]


def test_same_seed_same_study():
    a = tune(_toy, max_jobs=10, max_parallel=5, seed=4)
    b = tune(_toy, max_jobs=10, max_parallel=5, seed=4)
    assert [t.params for t in a.study.trials] == [t.params for t in b.study.trials]


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="max_parallel"):
        tune(_toy, max_jobs=2, max_parallel=5)


def test_best_so_far():
    assert best_so_far([3, 1, 2, 0]) == [3, 1, 1, 0]
