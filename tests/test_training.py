"""`mlops train <usecase> --local` runs the rendered repo's run_local, passing options through."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlops.cli import main


def _run(monkeypatch, capsys, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mlops", *argv])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


def _fake_repo(root: Path) -> Path:
    pkg = root / "claims-demo-training" / "src" / "demo_training"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "run_local.py").write_text(
        "import sys, pathlib\npathlib.Path('ran.txt').write_text(' '.join(sys.argv[1:]))\n"
    )
    return pkg.parents[1]


def test_runs_the_repos_run_local_with_extra_args(tmp_path, monkeypatch, capsys) -> None:
    repo = _fake_repo(tmp_path)
    code, err = _run(
        monkeypatch, capsys, "train", "claims-demo", "--local", "--repo", str(repo),
        "--max-jobs", "4",
    )  # fmt: skip
    assert code == 0, err
    assert (repo / "ran.txt").read_text() == "--max-jobs 4"


def test_missing_repo_is_a_usage_error(tmp_path, monkeypatch, capsys) -> None:
    code, err = _run(monkeypatch, capsys, "train", "nope", "--local", "--repo", str(tmp_path / "x"))
    assert code == 2
    assert "training repo" in err and "mlops onboard nope" in err


def test_cloud_training_points_to_the_pipeline(monkeypatch, capsys) -> None:
    code, err = _run(monkeypatch, capsys, "train", "remedy")
    assert code == 2
    assert "build pipeline" in err and "--local" in err
