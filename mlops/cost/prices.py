"""The dated price table `mlops cost` reads: ``prices_<region>.yaml`` next to this module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops.errors import ConfigError

PRICES_DIR = Path(__file__).resolve().parent


def price_file(region: str, directory: Path = PRICES_DIR) -> Path:
    return directory / f"prices_{region}.yaml"


def available_regions(directory: Path = PRICES_DIR) -> list[str]:
    return sorted(p.stem.removeprefix("prices_") for p in directory.glob("prices_*.yaml"))


def _leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    else:
        yield path, node


@dataclass(frozen=True)
class PriceTable:
    """List prices of one region; look values up by dotted path (`s3.standard_gb_month`)."""

    region: str
    currency: str
    as_of: dt.date
    hours_per_month: float
    prices: Mapping[str, Any]
    source: str

    def get(self, path: str) -> float:
        node: Any = self.prices
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ConfigError(
                    f"price {path!r} is missing from {self.source}",
                    f"add it to {self.source} (with its source page noted in the header)",
                )
            node = node[part]
        return float(node)

    def table(self, path: str) -> dict[str, float]:
        """A mapping of prices, e.g. `sagemaker.hosting_instance_hour` by instance type."""
        node: Any = self.prices
        for part in path.split("."):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        return {str(k): float(v) for k, v in node.items()} if isinstance(node, Mapping) else {}

    def leaves(self) -> list[tuple[str, Any]]:
        return list(_leaves(self.prices))


def parse_prices(doc: Mapping[str, Any], source: str) -> PriceTable:
    """Validate a price document: dated, one region and currency, every price a positive number."""
    missing = [k for k in ("as_of", "region", "currency", "hours_per_month") if k not in doc]
    if missing:
        raise ConfigError(f"{source}: missing {', '.join(missing)}", "see prices_eu-west-2.yaml")
    as_of = doc["as_of"]
    try:
        as_of = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ConfigError(
            f"{source}: as_of {doc['as_of']!r} is not a date", "write as_of: 'YYYY-MM-DD'"
        ) from None
    prices = {
        k: v for k, v in doc.items() if k not in ("as_of", "region", "currency", "hours_per_month")
    }
    bad = [
        path
        for path, value in _leaves(prices)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
    ]
    if bad:
        raise ConfigError(
            f"{source}: prices must be positive numbers: {', '.join(bad)}",
            "fix the values (USD per unit named in the key)",
        )
    return PriceTable(
        region=str(doc["region"]),
        currency=str(doc["currency"]),
        as_of=as_of,
        hours_per_month=float(doc["hours_per_month"]),
        prices=prices,
        source=source,
    )


def load_prices(region: str = "eu-west-2", directory: Path = PRICES_DIR) -> PriceTable:
    path = price_file(region, directory)
    if not path.exists():
        raise ConfigError(
            f"no price table for region {region!r}",
            f"add mlops/cost/{path.name} (regions with a table: "
            f"{', '.join(available_regions(directory)) or 'none'})",
        )
    table = parse_prices(yaml.safe_load(path.read_text()) or {}, f"mlops/cost/{path.name}")
    if table.region != region:
        raise ConfigError(
            f"mlops/cost/{path.name} says region {table.region!r}", f"set region: {region}"
        )
    return table
