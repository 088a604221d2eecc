"""Ships the decision API's audit lines to CloudWatch Logs, as the Lambda runtime does in the cloud.

Reads complete lines from a JSON-lines file from a saved byte offset, sends them in batches through
the local analytics stream and advances the offset only after a batch is accepted. If the embedded
AWS is down, lines stay in the file and go out on the next call: none lost. A crash between a
send and the offset save can resend one batch; the warehouse drops duplicates by event id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger("mlops.shipper")


class LineSink(Protocol):
    def emit(self, lines: list[str], batch_size: int = 500) -> int: ...


@dataclass
class ShipResult:
    shipped: int
    pending_bytes: int
    error: str | None = None


class LogShipper:
    def __init__(self, source: Path, sink: LineSink, batch_size: int = 500) -> None:
        self.source = source
        self.sink = sink
        self.batch_size = batch_size
        self.cursor = source.with_name(source.name + ".offset")

    def _offset(self) -> int:
        try:
            return int(self.cursor.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def ship(self) -> ShipResult:
        """Send every complete line written since the last successful call."""
        if not self.source.exists():
            return ShipResult(0, 0)
        offset = self._offset()
        data = self.source.read_bytes()[offset:]
        complete = data[: data.rfind(b"\n") + 1]  # a half-written last line waits
        shipped = 0
        lines = complete.decode("utf-8").splitlines(keepends=True)
        for start in range(0, len(lines), self.batch_size):
            batch = lines[start : start + self.batch_size]
            try:
                self.sink.emit([line.rstrip("\n") for line in batch if line.strip()])
            except Exception as exc:  # AWS down or throttled: keep the lines, try again later
                log.warning("log shipping paused: %s", exc)
                return ShipResult(shipped, len(data) - sum(map(len, lines[:start])), str(exc))
            offset += sum(len(line.encode("utf-8")) for line in batch)
            self.cursor.write_text(str(offset))
            shipped += len(batch)
        return ShipResult(shipped, len(data) - len(complete))
