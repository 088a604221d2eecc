"""Local services as child processes: started on loopback, health-checked, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from mlops.errors import MlopsError

ChildListener = Callable[[str, "subprocess.Popen[bytes]", list[str]], None]
_child_listener: ChildListener | None = None


def on_child_started(listener: ChildListener | None) -> None:
    """Tell ``listener(name, proc, command)`` about every service started from now on (the demo's
    run record keeps them, so a later run can stop what a SIGKILLed run left behind)."""
    global _child_listener
    _child_listener = listener


def child_started(name: str, proc: subprocess.Popen[bytes], command: list[str]) -> None:
    if _child_listener is not None:
        _child_listener(name, proc, command)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so every ``with`` stops its services."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP (terminal closed, systemd, container stop) into ``Stopped`` in the
    main thread for the duration; Ctrl-C already raises KeyboardInterrupt. Python's default for
    SIGTERM/SIGHUP ends the process without unwinding, which would orphan every child service
    (they run in their own sessions so that a terminal's signals do not reach them half-way)."""

    def handler(signum: int, _frame: object) -> None:
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_code_for(interrupt: KeyboardInterrupt) -> int:
    """The shell convention: 128 + the signal number (130 for Ctrl-C)."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def stop_process_group(proc: subprocess.Popen[bytes] | None, grace_s: float = 10.0) -> None:
    """SIGTERM the child's process group (it was started with its own session), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


class ServiceError(MlopsError):
    """A local service did not start or stopped answering."""


class LocalService:
    """`command` runs a server on `port`; `health_path` answers 200 when it is ready."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        port: int,
        cwd: Path,
        env: Mapping[str, str],
        log_file: Path,
        health_path: str = "/health",
        startup_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.port = port
        self.cwd = cwd
        self.env = dict(env)
        self.log_file = log_file
        self.health_path = health_path
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LocalService:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                self.command,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        child_started(self.name, self._proc, self.command)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                tail = self.log_tail()
                raise ServiceError(
                    f"{self.name} exited at start (code {self._proc.returncode}):\n{tail}",
                    f"see the full log in {self.log_file}",
                )
            try:
                url = self.url + self.health_path
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise ServiceError(
            f"{self.name} did not become healthy on {self.url} in {self.startup_timeout:.0f} s",
            f"see {self.log_file}",
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        stop_process_group(proc)

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
