"""Every service the local tools start is stopped on Ctrl-C, SIGTERM and SIGHUP: a real process
runs the same machinery as `mlops demo` / `mlops serve` (the CLI's signal handling, the embedded
AWS, a loopback service, the run record), gets the signal, and must leave nothing listening."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlops.local.embedded_aws import port_in_use

# the services and the run record as `mlops demo` starts them; the demo CLI's stopped_cleanly
# around it, exactly as `mlops demo` and `mlops serve` use it
PROGRAM = textwrap.dedent(
    """
    import json, sys, threading
    from contextlib import ExitStack
    from pathlib import Path
    import typer
    from mlops.local.cli import stopped_cleanly
    from mlops.local.embedded_aws import EmbeddedAWS
    from mlops.local.processes import LocalService
    from mlops.local.workdir import RunRecord, prepare

    work = Path(sys.argv[1])

    def main():
        with stopped_cleanly("signal test"):
            prepare(work)
            record = RunRecord(work)
            record.phase("serve")
            try:
                with ExitStack() as stack:
                    aws = stack.enter_context(EmbeddedAWS(log_file=work / "logs" / "moto.log"))
                    api = stack.enter_context(_http(work))
                    ports = {"aws": aws.port, "api": api.port}
                    print(json.dumps(ports), flush=True)
                    threading.Event().wait()
            except KeyboardInterrupt as stop:
                record.finish("interrupted", reason=str(stop) or "SIGINT")
                raise

    def _http(work):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return LocalService(
            "decision API", [sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1"],
            port=port, cwd=work, env={}, log_file=work / "logs" / "api.log", health_path="/",
        )

    try:
        main()
    except typer.Exit as done:
        sys.exit(done.exit_code)
    """
)


def _children_alive(work: Path) -> list[int]:
    record = json.loads((work / ".mlops-demo.json").read_text())
    return [c["pid"] for c in record.get("children", []) if Path(f"/proc/{c['pid']}").exists()]


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_signal_stops_every_service_and_exits_with_its_code(sig, code, tmp_path: Path) -> None:
    work = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, str(work)],
        # as from a terminal: a shell without job control starts background jobs with SIGINT
        # ignored, and Python then installs no KeyboardInterrupt handler (Ctrl-C rightly does
        # nothing to a background job)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        ports = json.loads(line)
        record = json.loads((work / ".mlops-demo.json").read_text())
        pids = [c["pid"] for c in record["children"]]
        assert len(pids) == 2 and all(port_in_use(p) for p in ports.values())
        os.kill(proc.pid, sig)
        # two children, each allowed 10 s SIGTERM grace + 5 s after SIGKILL: 30 s is the design's
        # worst case, so leave room above it on a loaded machine
        assert proc.wait(timeout=60) == code, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
    assert [name for name, port in ports.items() if port_in_use(port)] == []
    final = json.loads((work / ".mlops-demo.json").read_text())
    assert final["status"] == "interrupted" and final["reason"] == signal.Signals(sig).name


def test_mlops_demo_stopped_mid_training_leaves_nothing_and_the_next_run_says_so(
    tmp_path: Path,
) -> None:
    """The real CLI: SIGTERM while the training child runs; then the next run's preparation."""
    from mlops.local.workdir import prepare

    work = tmp_path / "demo"
    mlops = Path(sys.executable).with_name("mlops")
    proc = subprocess.Popen(
        [str(mlops), "demo", "--work-dir", str(work), "--trials", "2", "--claims", "40"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    marker = work / ".mlops-demo.json"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            record = json.loads(marker.read_text()) if marker.exists() else {}
            if record.get("phase", "").startswith("train") and (work / "training").exists():
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        else:
            pytest.fail("the demo did not reach the training phase")
        pids = [c["pid"] for c in record["children"]]
        assert pids, record
        time.sleep(1.0)  # the training child is running
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 143, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
    final = json.loads(marker.read_text())
    assert (final["status"], final["reason"]) == ("interrupted", "SIGTERM")
    assert final["phase"].startswith("train")
    prep = prepare(work)
    assert prep.found == "interrupted" and "(SIGTERM)" in prep.message
