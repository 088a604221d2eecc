"""`mlops backtest` goes through the backtest entry point the use case's template declares
(``template_backtest`` in its copier.yml), knowing no use case's domain: a generic
fake template here, Remedy's own in tests/hardening/test_backtest.py."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from mlops.backtest import BacktestFailed, BacktestRequest, declared_backtest, run
from mlops.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "acme_backtest_entry"
ENTRY = """
from pathlib import Path
import json


class Error(ValueError):
    pass


def load_data(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def load_model(path):
    return Path(path).name


def load_rules(path):
    return "defaults" if path is None else Path(path).read_text().strip()


def compare(data, current, candidate, progress=None):
    return {"rows": len(data), "sides": [list(current), list(candidate)]}


def write_report(result, out):
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result))
    return {"html": out / "report.json", "json": out / "report.json"}


def summary(result):
    return [f"{result['rows']} rows compared", "  nothing else"]
"""
SYNTHETIC = """

def synthetic_data(n, seed):
    return [{"i": i, "seed": seed} for i in range(n)]
"""


@pytest.fixture
def template(tmp_path, monkeypatch):
    """A copy of templates/ whose remedy template declares a generic fake backtest module;
    returns a function writing that module and the declaration."""
    templates = tmp_path / "templates"
    (templates / "remedy").mkdir(parents=True)
    shutil.copy(ROOT / "templates" / "platform-questions.yml", templates)
    monkeypatch.setenv("MLOPS_TEMPLATES_DIR", str(templates))
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield _writer(templates / "remedy")
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def _writer(folder: Path):
    text = (ROOT / "templates" / "remedy" / "copier.yml").read_text()
    head, _, rest = text.partition("template_backtest:")
    tail = rest[rest.index("\n# --- questions") :]

    def write(declaration: object | None = "default", code: str = ENTRY) -> Path:
        if declaration == "default":
            declaration = {"module": f"{PACKAGE}.entry", "source": ["code"]}
        block = ""
        if declaration is not None:
            block = yaml.safe_dump(
                {"template_backtest": {"type": "yaml", "default": declaration, "when": False}}
            )
        (folder / "copier.yml").write_text(head + block + tail)
        package = folder / "code" / PACKAGE
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "entry.py").write_text(textwrap.dedent(code))
        return folder

    return write


def _request(tmp_path: Path, *, data: Path | None = None, synthetic: int | None = None):
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    return BacktestRequest("remedy", model, model, data, synthetic, 3, None, None,
                           tmp_path / "out", None)  # fmt: skip


def test_the_platform_runs_the_declared_entry_point_generic_rows_in(template, tmp_path):
    template(code=ENTRY + SYNTHETIC)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n{"a": 2}\n')
    result, paths = run(_request(tmp_path, data=rows))
    assert result == {"rows": 2, "sides": [["model", "defaults"], ["model", "defaults"]]}
    assert json.loads(paths["json"].read_text()) == result
    generated, _ = run(_request(tmp_path, synthetic=150))
    assert generated["rows"] == 150


def test_a_use_case_whose_template_declares_no_generator_gets_a_clear_error(
    template, tmp_path, monkeypatch, capsys
):
    from mlops.cli import main

    template()  # load_data but no synthetic_data
    model = tmp_path / "model"
    model.mkdir()
    argv = ["mlops", "backtest", "remedy", "--current", str(model), "--candidate", str(model),
            "--synthetic", "100", "--out", str(tmp_path / "out")]  # fmt: skip
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as stop:
        main()
    err = " ".join(capsys.readouterr().err.split())
    assert stop.value.code == 2, err
    assert (
        "use case 'remedy': template 'remedy' declares no synthetic data generator "
        f"({PACKAGE}.entry has no synthetic_data)"
    ) in err
    assert "fix: pass --data FILE with historical rows (.parquet, .csv or .jsonl)" in err
    assert not (tmp_path / "out").exists()


def test_a_template_without_a_backtest_says_so(template, tmp_path):
    template(declaration=None)
    with pytest.raises(UsageError, match=r"which declares no backtest \(template_backtest in"):
        run(_request(tmp_path, synthetic=100))


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"module": "not a module", "source": ["code"]}, r"template_backtest\.module 'not a mod"),
        ({"module": "a.b", "source": ["../elsewhere"]}, r"template_backtest\.source \['\.\./"),
        ({"module": "a.b", "source": []}, r"template_backtest\.source \[\]"),
        ({"module": "a.b", "src": ["code"]}, r"template_backtest: must be a mapping with module"),
    ],
)
def test_a_bad_declaration_names_the_field(template, declaration, message):
    template(declaration=declaration)
    with pytest.raises(BacktestFailed, match=message):
        declared_backtest("remedy")


def test_an_entry_point_missing_names_is_refused_naming_them(template, tmp_path):
    template(code=ENTRY.replace("def compare(", "def _compare(").replace("class Error", "class E"))
    with pytest.raises(BacktestFailed, match=r"entry lacks compare, Error \(an exception class\)"):
        run(_request(tmp_path, synthetic=100))


def test_remedy_declares_its_entry_point_and_generator():
    declared = declared_backtest("remedy")
    assert declared is not None and declared.module == "remedy_inference.backtest"
    assert [p.relative_to(ROOT) for p in declared.source] == [
        Path("templates/remedy/core"), Path("templates/remedy/inference/src"),
    ]  # fmt: skip
    assert declared_backtest("tabular-classification") is None
