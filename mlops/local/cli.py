"""The local demo's commands, registered on the `mlops` app by ``mlops/cli.py``: ``mlops demo``
(the whole Remedy lifecycle on embedded AWS, no AWS account) and ``mlops serve`` (the local
decision API and the claims-handler view kept running). They know the demo's use case; the
platform's own commands do not. Thin, like every command: the work is ``mlops.local.demo``'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from mlops import console

WorkDirOption = Annotated[
    Path, typer.Option("--work-dir", help="Where the demo writes repos, models and analytics.")
]


def demo(
    work_dir: WorkDirOption = Path(".mlops/demo"),
    full: Annotated[
        bool, typer.Option("--full", help="Full tuning budget: 100 trials in rounds of 20.")
    ] = False,
    trials: Annotated[
        int | None, typer.Option("--trials", min=1, help="Tuning trials (default: demo-sized).")
    ] = None,
    claims: Annotated[
        int, typer.Option("--claims", min=10, max=100_000, help="Claims to replay.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    aws_port: Annotated[
        int | None, typer.Option("--aws-port", help="Port for the embedded AWS (default: free).")
    ] = None,
) -> None:
    """Run the whole Remedy lifecycle on this machine, with no AWS account."""
    from mlops.local.demo import DemoOptions, print_summary, run_demo

    opts = DemoOptions(work_dir, full=full, trials=trials, claims=claims, seed=seed,
                       aws_port=aws_port)  # fmt: skip
    console.info("mlops demo: the Remedy lifecycle on embedded AWS (moto), no AWS account needed")
    with stopped_cleanly("mlops demo"):
        summary = run_demo(opts, console.out)
    print_summary(summary, console.out)


@contextlib.contextmanager
def stopped_cleanly(command: str, serving: list[bool] | None = None) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP unwind the run (every service it started is stopped), then
    exit with 128 + the signal number, as a shell expects - or 0 when `serving` says the signal
    ended a server that was up (the normal way to stop `mlops serve`)."""
    from mlops.local.processes import exit_code_for, stop_on_signals

    try:
        with stop_on_signals():
            yield
    except KeyboardInterrupt as stop:
        signal_name = str(stop) or "SIGINT"  # a plain KeyboardInterrupt prints empty
        console.info(f"{command}: stopped ({signal_name}); every service it started is down")
        raise typer.Exit(0 if serving and serving[0] else exit_code_for(stop)) from None


def serve(
    work_dir: WorkDirOption = Path(".mlops/serve"),
    api_port: Annotated[int, typer.Option("--port", help="Decision API port.")] = 8080,
    claims: Annotated[int, typer.Option("--claims", min=10, help="Claims to pre-load.")] = 200,
    trials: Annotated[int, typer.Option("--trials", min=1)] = 6,
) -> None:
    """Keep the local decision API and the claims-handler view running (Ctrl-C stops all)."""
    import threading

    from mlops.local.demo import DemoOptions, run_demo

    opts = DemoOptions(work_dir, trials=trials, claims=claims, api_port=api_port)
    serving = [False]

    def ready(summary, _deployment, _stream) -> None:
        serving[0] = True
        console.success(f"decision API: {summary.api_url}/docs")
        console.success(f"claims-handler view: {summary.api_url}/handler")
        console.success(f"dashboard: file://{summary.artefacts.get('dashboard', '')}")
        console.info("handler actions are shipped to the analytics stream every 2 s; Ctrl-C stops")
        threading.Event().wait()  # until Ctrl-C, SIGTERM or SIGHUP

    with stopped_cleanly("mlops serve", serving):
        run_demo(opts, console.out, on_ready=ready)
