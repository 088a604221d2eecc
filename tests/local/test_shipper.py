"""Log shipping: every complete line once, none lost while the sink is down."""

from __future__ import annotations

from pathlib import Path

from mlops.local.shipper import LogShipper


class FlakySink:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.down = False

    def emit(self, lines: list[str], batch_size: int = 500) -> int:
        if self.down:
            raise ConnectionError("embedded AWS unavailable")
        self.received += lines
        return len(lines)


def test_ships_complete_lines_once_and_resumes_after_outage(tmp_path: Path) -> None:
    source = tmp_path / "audit.jsonl"
    sink = FlakySink()
    shipper = LogShipper(source, sink, batch_size=2)
    source.write_text('{"n": 1}\n{"n": 2}\n{"n": 3')  # third line still being written
    assert shipper.ship().shipped == 2
    assert sink.received == ['{"n": 1}', '{"n": 2}']
    with source.open("a") as f:
        f.write('}\n{"n": 4}\n')
    sink.down = True
    result = shipper.ship()
    assert result.shipped == 0 and result.error and result.pending_bytes > 0
    sink.down = False
    assert shipper.ship().shipped == 2
    assert shipper.ship().shipped == 0
    assert sink.received == ['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}']
    # a new shipper on the same file resumes from the saved offset
    assert LogShipper(source, sink).ship().shipped == 0
