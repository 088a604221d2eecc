"""Offline preview: what `pulumi up` would create for a stack, from the real program under mocks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from mlops.testing.mocks import RecordedResource, RecordingMocks


@dataclass
class StackPreview:
    stack: str
    resources: list[RecordedResource]

    @classmethod
    def build(cls, stack: str) -> StackPreview:
        from mlops.program import build_stack

        mocks: RecordingMocks = build_stack(stack)
        return cls(stack, list(mocks.resources))

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
                }
                for r in self.resources
            ],
            "tree": [self._node(r) for r in self.roots()],
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
