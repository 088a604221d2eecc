"""`mlops cost`: run the real program for a stack under mocks, estimate it, render the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops.cost.egress import EgressCost, egress_cost
from mlops.cost.estimator import estimate
from mlops.cost.model import Estimate
from mlops.cost.prices import load_prices
from mlops.cost.usage import EndpointMode, default_usage


@dataclass
class StackCost:
    """The estimate as configured plus the same stack with every endpoint in each mode."""

    estimate: Estimate
    by_mode: dict[str, Estimate]
    egress: EgressCost | None = None
    """The egress design's cost line (docs/deploy.md "Egress")."""

    def to_json(self) -> dict[str, Any]:
        data = self.estimate.to_json()
        if self.egress is not None:
            data["egress"] = self.egress.to_json()
        data["endpoint_modes"] = {
            mode: {
                "monthly_total": round(e.total, 2),
                "monthly_endpoints": round(e.endpoint_total, 2),
            }
            for mode, e in self.by_mode.items()
        }
        return data


def stack_cost(
    stack: str,
    *,
    requests_per_day: float | None = None,
    payload_kb: float | None = None,
    endpoint_mode: EndpointMode | None = None,
) -> StackCost:
    from mlops.config import load_stack_config
    from mlops.program import build_stack
    from mlops.usecases import load_manifests

    cfg = load_stack_config(stack)
    mocks = build_stack(stack)
    manifests = load_manifests()
    prices = load_prices(cfg.region)
    usage = default_usage(cfg.environment).with_overrides(
        requests_per_day=requests_per_day, payload_kb=payload_kb, endpoint_mode=endpoint_mode
    )

    def run(u) -> Estimate:
        return estimate(
            stack, mocks.resources, prices, u, environment=cfg.environment,
            manifests=manifests, az_count=cfg.network.az_count,
        )  # fmt: skip

    by_mode = {
        mode: run(usage.with_overrides(endpoint_mode=mode)) for mode in ("serverless", "realtime")
    }
    configured = run(usage)
    egress = egress_cost(configured, mocks.resources, cfg.network.az_count)
    return StackCost(estimate=configured, by_mode=by_mode, egress=egress)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def render(costs: Sequence[StackCost], console, show_assumptions: bool = True) -> None:
    from rich.table import Table

    for cost in costs:
        e = cost.estimate
        table = Table(
            title=f"{e.stack}: estimated monthly cost ({e.prices.region}, {e.prices.currency}, "
            f"list prices as of {e.prices.as_of.isoformat()})",
            show_lines=False,
        )
        for col, justify in (("resource type", "left"), ("what", "left"), ("count", "right"),
                             ("unit", "left"), ("quantity", "right"), ("monthly", "right"),
                             ("assumption", "left")):  # fmt: skip
            table.add_column(col, justify=justify, overflow="fold")
        for i in sorted(e.items, key=lambda i: -i.monthly):
            table.add_row(i.resource_type, i.what, str(i.count), i.unit, f"{i.quantity:,.1f}",
                          _money(i.monthly), i.assumption)  # fmt: skip
        table.add_row("[bold]total[/]", "", "", "", "", f"[bold]{_money(e.total)}[/]",
                      f"of which endpoints {_money(e.endpoint_total)}")  # fmt: skip
        console.print(table)
        if cost.egress is not None:
            console.print(cost.egress.line(), markup=False)
        if e.free:
            free = ", ".join(f"{t.split(':')[-1]} x{n}" for t, (n, _) in sorted(e.free.items()))
            console.print(f"free ({sum(n for n, _ in e.free.values())} resources): {free}",
                          markup=False)  # fmt: skip
        for typ, (n, why) in sorted(e.external.items()):
            console.print(f"not AWS: {typ} x{n}: {why}", markup=False)
        if e.unpriced:
            for typ, (n, why) in sorted(e.unpriced.items()):
                console.print(f"NOT PRICED: {typ} x{n}: {why}", style="yellow", markup=False)
        else:
            console.print("every resource type is priced or known to be free", markup=False)
        console.print()
    if show_assumptions and costs:
        _assumptions(costs, console)
    _summary(costs, console)


def _assumptions(costs: Sequence[StackCost], console) -> None:
    from rich.table import Table

    table = Table(title="usage assumptions (change with --requests-per-day, --payload-kb, "
                  "--endpoint-mode)")  # fmt: skip
    table.add_column("assumption")
    for c in costs:
        table.add_column(c.estimate.stack, justify="right")
    table.add_column("meaning")
    rows = [c.estimate.usage.describe() for c in costs]
    for index, (name, _, meaning) in enumerate(rows[0]):
        table.add_row(name, *[r[index][1] for r in rows], meaning)
    console.print(table)


def _summary(costs: Sequence[StackCost], console) -> None:
    from rich.table import Table

    table = Table(title="monthly total per stack, endpoints as configured vs all serverless vs "
                  "all real-time")  # fmt: skip
    for col in ("stack", "requests/day", "total", "endpoints", "all serverless: total",
                "all real-time: total", "not priced"):  # fmt: skip
        table.add_column(col, justify="left" if col == "stack" else "right")
    for c in costs:
        e = c.estimate
        table.add_row(
            e.stack, f"{e.usage.requests_per_day:,.0f}", _money(e.total), _money(e.endpoint_total),
            f"{_money(c.by_mode['serverless'].total)} "
            f"({_money(c.by_mode['serverless'].endpoint_total)})",
            f"{_money(c.by_mode['realtime'].total)} "
            f"({_money(c.by_mode['realtime'].endpoint_total)})",
            str(len(e.unpriced)),
        )  # fmt: skip
    console.print(table)


def run_cost_command(
    stack: str | None,
    all_stacks: bool,
    as_json: bool,
    requests_per_day: float | None,
    payload_kb: float | None,
    endpoint_mode: str | None,
) -> None:
    """`mlops cost`: validate the options, estimate the stacks, print a table or JSON."""
    import json
    import sys

    from mlops import console
    from mlops.config import ENVIRONMENTS
    from mlops.errors import UsageError

    if all_stacks and stack:
        raise UsageError("give either --stack or --all, not both", "mlops cost --all")
    if endpoint_mode not in (None, "serverless", "realtime"):
        raise UsageError(
            f"--endpoint-mode {endpoint_mode!r} is not a mode",
            "use --endpoint-mode serverless or --endpoint-mode realtime",
        )
    for option, value in (("--requests-per-day", requests_per_day), ("--payload-kb", payload_kb)):
        if value is not None and value < 0:
            raise UsageError(f"{option} must not be negative, got {value:g}", f"{option} 2000")
    stacks = list(ENVIRONMENTS) if all_stacks else [stack or "dev"]
    options = {"requests_per_day": requests_per_day, "payload_kb": payload_kb,
               "endpoint_mode": endpoint_mode}  # fmt: skip
    if as_json:
        costs = [stack_cost(s, **options) for s in stacks]
        sys.stdout.write(json.dumps([c.to_json() for c in costs] if all_stacks
                                    else costs[0].to_json(), indent=2) + "\n")  # fmt: skip
        return
    with console.status(f"building {', '.join(stacks)} offline under Pulumi mocks"):
        costs = [stack_cost(s, **options) for s in stacks]
    out = console.out
    if not out.is_terminal and out.width < 160:
        # Piped into a file or a CI log: wide enough that line items stay on one line each.
        from rich.console import Console

        out = Console(width=160, highlight=False)
    render(costs, out)
