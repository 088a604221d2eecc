"""A demo that cannot start says why and how to fix it, and leaves nothing running."""

from __future__ import annotations

import io
import shutil
import socket
from collections import namedtuple
from pathlib import Path

import pytest
from rich.console import Console

from mlops.local import demo
from mlops.local.demo import DemoError, DemoOptions, run_demo
from mlops.local.embedded_aws import EmbeddedAWSError


def _console() -> Console:
    return Console(file=io.StringIO())


def test_low_disk_is_refused_before_anything_starts(tmp_path: Path, monkeypatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**12, 10**12, 300 * 1024**2))
    with pytest.raises(DemoError) as info:
        run_demo(DemoOptions(tmp_path), _console())
    assert "only 0.3 GB free" in info.value.message
    assert "--work-dir" in info.value.fix


def test_missing_package_names_it_and_the_fix(tmp_path: Path, monkeypatch) -> None:
    real_import = __import__

    def fake_import(name, *args, **kwargs):
        if name == "lightgbm":
            raise ImportError("No module named 'lightgbm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", fake_import)
    with pytest.raises(DemoError) as info:
        demo.preflight(tmp_path)
    assert info.value.message == "missing Python packages: lightgbm"
    assert "make demo" in info.value.fix


def test_busy_aws_port_stops_the_demo_with_a_fix(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(EmbeddedAWSError) as info:
            run_demo(DemoOptions(tmp_path, aws_port=port), _console())
    assert f"port {port}" in info.value.message and "--aws-port" in info.value.fix
    assert not list((tmp_path / "repos").glob("*"))  # nothing onboarded
