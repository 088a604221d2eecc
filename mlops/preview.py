"""Offline preview: what `pulumi up` would create for a stack, from the real program under mocks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mlops.testing.mocks import RecordedResource, RecordingMocks, ReferenceFailure


@dataclass
class StackPreview:
    stack: str
    resources: list[RecordedResource]
    reference_failures: list[ReferenceFailure] = field(default_factory=list)
    """StackReferences the real engine could not read in the documented backend layout."""

    @classmethod
    def build(cls, stack: str) -> StackPreview:
        from mlops.program import build_stack

        mocks: RecordingMocks = build_stack(stack)
        return cls(stack, list(mocks.resources), list(mocks.reference_failures))

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)

    def roots(self) -> list[RecordedResource]:
        urns = {r.urn for r in self.resources}
        return [r for r in self.resources if r.parent_urn not in urns]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent_urn == parent.urn]

    def _node(self, r: RecordedResource) -> dict[str, Any]:
        node: dict[str, Any] = {"name": r.name, "type": r.type, "component": r.is_component}
        kids = self.children(r)
        if kids:
            node["children"] = [self._node(k) for k in kids]
        return node

    def to_json(self) -> dict[str, Any]:
        by_urn = {r.urn: r for r in self.resources}
        return {
            "stack": self.stack,
            "resource_count": len(self.resources),
            "counts_by_type": dict(sorted(self.counts.items())),
            "resources": [
                {
                    "type": r.type,
                    "name": r.name,
                    "urn": r.urn,
                    "component": r.is_component,
                    "parent": by_urn[r.parent_urn].name if r.parent_urn in by_urn else None,
                    "physical_name": r.physical_name,
                    "autonamed": r.autonamed,
                }
                for r in self.resources
            ],
            "tree": [self._node(r) for r in self.roots()],
            "autonamed": [
                {"type": r.type, "name": r.name, "physical_name": r.physical_name}
                for r in self.resources
                if r.autonamed
            ],
            "reference_failures": [f.to_json() for f in self.reference_failures],
        }

    def render(self, console) -> None:
        from rich.table import Table
        from rich.tree import Tree

        tree = Tree(f"stack [bold]{self.stack}[/] — {len(self.resources)} resources")

        def add(branch: Tree, r: RecordedResource) -> None:
            label = (
                f"[bold cyan]{r.name}[/] [dim]{r.type}[/]"
                if r.is_component
                else (f"{r.name} [dim]{r.type}[/]")
            )
            if r.autonamed:
                label += f" [yellow](auto-named {r.physical_name})[/]"
            sub = branch.add(label)
            for kid in self.children(r):
                add(sub, kid)

        for root in self.roots():
            add(tree, root)
        console.print(tree)
        table = Table(title=f"{self.stack}: resources per type")
        table.add_column("type")
        table.add_column("count", justify="right")
        for typ, n in sorted(self.counts.items()):
            table.add_row(typ, str(n))
        table.add_row("[bold]total[/]", f"[bold]{len(self.resources)}[/]")
        console.print(table)
        from rich.markup import escape

        for f in self.reference_failures:
            console.print(
                f"[bold yellow]warning:[/] StackReference {escape(f.referenced)} would not "
                f"resolve in a real deployment: {escape(f.reason)}",
                markup=True,
                highlight=False,
            )
