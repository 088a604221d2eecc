"""`mlops rehearse`: build the estate offline, run the scenarios, print, exit 1 on failure."""

from __future__ import annotations

import json
import sys

from mlops import console


def build(usecase: str = "remedy"):
    from mlops.rehearsal.estate import build_estate
    from mlops.rehearsal.programs import build_estate_runs

    return build_estate(build_estate_runs(usecase))


def run_rehearse_command(
    scenarios: list[str] | None, as_json: bool, verbose: bool, usecase: str = "remedy"
) -> int:
    from mlops.rehearsal import report
    from mlops.rehearsal.scenarios import SCENARIOS, run_scenarios

    unknown = [s for s in scenarios or [] if s not in SCENARIOS]
    if unknown:
        from mlops.errors import MlopsError

        raise MlopsError(f"unknown scenario {unknown[0]!r}", f"use one of: {', '.join(SCENARIOS)}")
    if as_json:
        estate = build(usecase)
        results, unused = run_scenarios(estate, scenarios)
        sys.stdout.write(json.dumps(report.to_json(results, unused), indent=2) + "\n")
        return 0 if report.passed(results, unused) else 1
    with console.status("running bootstrap, platform and inference programs offline"):
        estate = build(usecase)
    with console.status("rehearsing") as status:
        results, unused = run_scenarios(
            estate, scenarios, progress=lambda name: status.update(f"rehearsing {name}")
        )
    report.render(console.out, results, unused, verbose=verbose)
    ok = report.passed(results, unused)
    summary = ", ".join(
        f"{r.name}: {r.status}" + (f" ({len(r.known)} known)" if r.known else "") for r in results
    )
    if ok:
        known = sum(len(r.known) for r in results)
        verdict = "passed" if not known else "no unexpected failures"
        console.success(f"rehearsal {verdict} ({summary})")
        if known:
            console.info("known failures are listed, with the issue that fixes each, in "
                         "mlops/rehearsal/expected.yaml (shown above as 'known')")  # fmt: skip
        return 0
    console.error(f"rehearsal failed ({summary})", "see the FAIL/STALE rows above")
    return 1
