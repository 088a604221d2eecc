"""Vehicle catalogue: reference data shared by the generator, the features and the valuation.

Prices are indicative UK list prices (GBP, new, 2024 money) and a parts-price index (1.0 = an
average family car). Popularity weights give a plausible UK claims mix. Unknown vehicles fall
back to their segment's typical values so serving never fails on a new model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy only for the generator's arrays: serving never loads it from here
    import numpy as np


@dataclass(frozen=True)
class CatalogueEntry:
    make: str
    model: str
    segment: str
    body_type: str
    new_price: float
    parts_index: float
    powertrains: tuple[str, ...]
    popularity: float
    first_year: int = 2000


_P, _D, _H, _E = "petrol", "diesel", "hybrid", "ev"
_ICE = (_P, _D)
_PDH = (_P, _D, _H)
CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry("Ford", "Fiesta", "supermini", "hatchback", 19_000, 0.85, (_P, _D), 9.0),
    CatalogueEntry("Ford", "Focus", "family", "hatchback", 25_000, 0.95, _PDH, 7.0),
    CatalogueEntry("Ford", "Kuga", "suv", "suv", 32_000, 1.05, _PDH, 4.0, 2008),
    CatalogueEntry("Ford", "Puma", "suv", "suv", 26_000, 0.95, (_P, _H), 4.0, 2019),
    CatalogueEntry("Vauxhall", "Corsa", "supermini", "hatchback", 19_500, 0.8, (_P, _D, _E), 8.0),
    CatalogueEntry("Vauxhall", "Astra", "family", "hatchback", 24_000, 0.9, _ICE, 5.0),
    CatalogueEntry("Vauxhall", "Mokka", "suv", "suv", 25_000, 0.9, (_P, _E), 2.5, 2012),
    CatalogueEntry("Volkswagen", "Polo", "supermini", "hatchback", 21_000, 0.95, _ICE, 5.0),
    CatalogueEntry("Volkswagen", "Golf", "family", "hatchback", 28_000, 1.05, _PDH, 7.0),
    CatalogueEntry("Volkswagen", "Tiguan", "suv", "suv", 35_000, 1.15, _PDH, 3.0, 2007),
    CatalogueEntry("Volkswagen", "ID.3", "family", "hatchback", 37_000, 1.3, (_E,), 1.5, 2020),
    CatalogueEntry("BMW", "1 Series", "family", "hatchback", 30_000, 1.3, _ICE, 3.0, 2004),
    CatalogueEntry("BMW", "3 Series", "executive", "saloon", 40_000, 1.45, _PDH, 4.0),
    CatalogueEntry("BMW", "X3", "suv", "suv", 50_000, 1.55, _PDH, 2.0, 2004),
    CatalogueEntry("BMW", "i4", "executive", "saloon", 58_000, 1.8, (_E,), 0.8, 2021),
    CatalogueEntry("Mercedes-Benz", "A-Class", "family", "hatchback", 32_000, 1.35, _ICE, 3.5),
    CatalogueEntry("Mercedes-Benz", "C-Class", "executive", "saloon", 45_000, 1.5, _PDH, 3.0),
    CatalogueEntry("Mercedes-Benz", "GLC", "suv", "suv", 55_000, 1.65, _PDH, 1.5, 2015),
    CatalogueEntry("Mercedes-Benz", "EQA", "suv", "suv", 52_000, 1.75, (_E,), 0.6, 2021),
    CatalogueEntry("Audi", "A3", "family", "hatchback", 31_000, 1.3, _PDH, 4.0),
    CatalogueEntry("Audi", "A4", "executive", "estate", 40_000, 1.45, _ICE, 2.5),
    CatalogueEntry("Audi", "Q5", "suv", "suv", 52_000, 1.6, _PDH, 1.8, 2008),
    CatalogueEntry("Audi", "Q4 e-tron", "suv", "suv", 52_000, 1.75, (_E,), 0.7, 2021),
    CatalogueEntry("Toyota", "Yaris", "supermini", "hatchback", 22_000, 0.85, (_P, _H), 5.0),
    CatalogueEntry("Toyota", "Corolla", "family", "hatchback", 30_000, 0.95, (_H,), 3.5, 2019),
    CatalogueEntry("Toyota", "RAV4", "suv", "suv", 38_000, 1.1, (_H,), 2.0, 2013),
    CatalogueEntry("Nissan", "Qashqai", "suv", "suv", 30_000, 1.0, _PDH, 6.0, 2007),
    CatalogueEntry("Nissan", "Juke", "suv", "suv", 23_000, 0.9, (_P, _H), 4.0, 2010),
    CatalogueEntry("Nissan", "Leaf", "family", "hatchback", 30_000, 1.2, (_E,), 1.5, 2011),
    CatalogueEntry("Kia", "Sportage", "suv", "suv", 31_000, 1.0, _PDH, 4.0),
    CatalogueEntry("Kia", "Niro", "suv", "suv", 32_000, 1.05, (_H, _E), 2.0, 2016),
    CatalogueEntry("Kia", "Picanto", "city", "hatchback", 14_000, 0.7, (_P,), 3.0, 2004),
    CatalogueEntry("Hyundai", "Tucson", "suv", "suv", 33_000, 1.0, _PDH, 3.0, 2004),
    CatalogueEntry("Hyundai", "i10", "city", "hatchback", 14_500, 0.7, (_P,), 3.0, 2008),
    CatalogueEntry("Hyundai", "Kona", "suv", "suv", 30_000, 1.05, (_P, _H, _E), 2.0, 2017),
    CatalogueEntry("Tesla", "Model 3", "executive", "saloon", 40_000, 1.9, (_E,), 2.0, 2019),
    CatalogueEntry("Tesla", "Model Y", "suv", "suv", 45_000, 1.95, (_E,), 2.0, 2021),
    CatalogueEntry("Land Rover", "Range Rover Evoque", "suv", "suv", 45_000, 1.7, _ICE, 1.5, 2011),
    CatalogueEntry("Land Rover", "Defender", "luxury", "suv", 65_000, 2.0, _PDH, 0.8, 2020),
    CatalogueEntry("Mini", "Cooper", "supermini", "hatchback", 24_000, 1.15, (_P, _E), 3.5, 2001),
    CatalogueEntry("Skoda", "Octavia", "family", "estate", 27_000, 0.9, _ICE, 4.0),
    CatalogueEntry("Skoda", "Fabia", "supermini", "hatchback", 18_000, 0.8, _ICE, 3.0),
    CatalogueEntry("Peugeot", "208", "supermini", "hatchback", 20_000, 0.85, (_P, _D, _E), 4, 2012),
    CatalogueEntry("Peugeot", "3008", "suv", "suv", 31_000, 0.95, _PDH, 2.5, 2009),
    CatalogueEntry("Renault", "Clio", "supermini", "hatchback", 19_000, 0.8, _PDH, 4.0),
    CatalogueEntry("Volvo", "XC40", "suv", "suv", 38_000, 1.3, (_P, _H, _E), 1.5, 2018),
    CatalogueEntry("MG", "ZS", "suv", "suv", 22_000, 0.85, (_P, _E), 2.0, 2017),
    CatalogueEntry("Honda", "Civic", "family", "hatchback", 30_000, 1.0, _PDH, 2.5),
    CatalogueEntry("Honda", "Jazz", "supermini", "mpv", 21_000, 0.85, (_P, _H), 2.5),
    CatalogueEntry("Porsche", "911", "sports", "coupe", 105_000, 3.0, (_P,), 0.3),
    CatalogueEntry("Mazda", "MX-5", "sports", "coupe", 28_000, 1.1, (_P,), 0.8),
)  # fmt: skip

#: Typical values per segment (fallback for vehicles missing from the catalogue).
SEGMENT_DEFAULTS: dict[str, tuple[float, float]] = {
    "city": (14_000, 0.7),
    "supermini": (20_000, 0.85),
    "family": (28_000, 1.0),
    "suv": (33_000, 1.1),
    "executive": (42_000, 1.45),
    "luxury": (70_000, 2.0),
    "sports": (45_000, 1.6),
}

MAKES: tuple[str, ...] = tuple(sorted({e.make for e in CATALOGUE}))
_BY_KEY: dict[tuple[str, str], int] = {
    (e.make.lower(), e.model.lower()): i for i, e in enumerate(CATALOGUE)
}


def lookup(make: str, model: str) -> CatalogueEntry | None:
    """Catalogue entry for a make/model (case-insensitive), or None if unknown."""
    i = _BY_KEY.get((make.strip().lower(), model.strip().lower()))
    return None if i is None else CATALOGUE[i]


def catalogue_index(make: str, model: str) -> int:
    """Index of the entry in CATALOGUE, -1 if unknown."""
    return _BY_KEY.get((make.strip().lower(), model.strip().lower()), -1)


def reference_values(make: str, model: str, segment: str) -> tuple[float, float, bool]:
    """(new_price, parts_index, known) with the segment fallback for unknown vehicles."""
    entry = lookup(make, model)
    if entry is not None:
        return entry.new_price, entry.parts_index, True
    price, parts = SEGMENT_DEFAULTS.get(segment, SEGMENT_DEFAULTS["family"])
    return price, parts, False


def catalogue_arrays() -> dict[str, np.ndarray]:
    """Column arrays of the catalogue for vectorised generation."""
    import numpy as np

    return {
        "make": np.array([e.make for e in CATALOGUE]),
        "model": np.array([e.model for e in CATALOGUE]),
        "segment": np.array([e.segment for e in CATALOGUE]),
        "body_type": np.array([e.body_type for e in CATALOGUE]),
        "new_price": np.array([e.new_price for e in CATALOGUE], dtype=float),
        "parts_index": np.array([e.parts_index for e in CATALOGUE], dtype=float),
        "popularity": np.array([e.popularity for e in CATALOGUE], dtype=float),
        "first_year": np.array([e.first_year for e in CATALOGUE], dtype=int),
    }
