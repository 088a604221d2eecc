"""The platform's copier settings and questions are defined once (templates/platform-questions.yml)
and every template includes them; the platform reads copier.yml exactly as copier reads the
store's snapshot."""

from __future__ import annotations

import pytest
import yaml
from copier._template import load_template_config

from mlops.onboarding import TemplateStore, discover
from mlops.onboarding.templates import (
    PLATFORM_FILE,
    PLATFORM_QUESTIONS,
    copier_documents,
    read_copier_config,
    templates_dir,
)

TEMPLATES = [t.name for t in discover()]


def _platform() -> dict:
    return yaml.safe_load((templates_dir() / PLATFORM_FILE).read_text())


def test_the_shared_file_holds_the_settings_and_the_questions_asked_alike() -> None:
    shared = _platform()
    assert {"_subdirectory", "_answers_file", "_envops"} <= shared.keys()
    assert {"repo_kind", "usecase_name", "owner_email", "aws_region"} <= shared.keys()
    assert {k for k in shared if not k.startswith("_")} <= set(PLATFORM_QUESTIONS)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_includes_the_platform_file_and_repeats_none_of_it(name) -> None:
    included: list[str] = []
    own = copier_documents(
        (templates_dir() / name / "copier.yml").read_text(),
        include=lambda pattern: included.append(pattern) or [],
    )
    assert included == [PLATFORM_FILE], f"templates/{name}/copier.yml must include {PLATFORM_FILE}"
    repeated = sorted(own.keys() & _platform().keys())
    assert not repeated, f"templates/{name}/copier.yml repeats {repeated} of {PLATFORM_FILE}"
    assert {*own, *_platform()} >= set(PLATFORM_QUESTIONS)


@pytest.mark.parametrize("name", TEMPLATES)
def test_platform_reads_copier_yml_as_copier_reads_the_snapshot(tmp_path, name) -> None:
    info = next(t for t in discover() if t.name == name)
    store = TemplateStore(str(tmp_path / "store"))
    checkout = store.checkout(name, store.snapshot(info))
    by_copier = load_template_config(checkout / "copier.yml")
    assert read_copier_config(info.path) == by_copier
    assert list(read_copier_config(info.path)) == list(by_copier)  # the order questions are asked
    assert {q.name for q in info.questions} == {k for k in by_copier if not k.startswith("_")}
