"""The ONE feature encoding for Remedy, used for training (batch) and serving (single claim).

* `encode_frame(df)`  - vectorised over a generated/flattened claims frame (training, batch)
* `encode_claims(cs)` - a list of `Claim`s -> 2-D float32 array
* `encode_claim(c)`   - one `Claim` -> 1-D float32 vector, plain Python (no pandas: hot path)
* `encode_row(c)`     - the same values as a list of floats (float32-rounded, no numpy call: the
  encode Lambda sends it as JSON)

Categoricals are integer codes from fixed vocabularies (unknown -> -1), so the same code runs
in both repos and the ONNX graph takes one dense float32 matrix. Catalogue reference values
(new price, parts index) and a trade-guide style value (`guide_value`: depreciation curve at
national prices) are features: model 13 predicts PAV relative to it.
Continuous values are kept on coarse grids (whole pounds, days, 0.1 kph) so that LightGBM's
double split thresholds fall between float32 values: ONNX (float32) then equals LightGBM.
Bump FEATURES_VERSION whenever the vector changes; bundles record it and refuse a mismatch.
"""

from __future__ import annotations

import datetime as dt
from array import array
from typing import TYPE_CHECKING

from remedy_core.market import (
    FIRST_YEAR_DROP,
    PER_10K_MILES,
    REGION_PRICE_FACTOR,
    SCRAP_FLOOR_GBP,
    YEARLY_DEPRECIATION,
    YEARLY_DEPRECIATION_EV,
    market_value,
)
from remedy_core.vehicles import CATALOGUE, MAKES, SEGMENT_DEFAULTS, catalogue_index
from remedy_core.vocab import BODY_TYPES, IMPACT_POINTS, POWERTRAINS, REGIONS, SEGMENTS, ZONES

if TYPE_CHECKING:  # numpy and pandas are imported where used: the Lambdas never load them
    import numpy as np
    import pandas as pd

    from remedy_core.claims import Claim

FEATURES_VERSION = "1.0.0"

FEATURE_NAMES: tuple[str, ...] = (
    "region_code", "region_price_factor",
    "make_code", "model_code", "segment_code", "body_code",
    "new_price", "parts_index", "catalogue_known",
    "age_years", "mileage", "year", "powertrain_code", "is_ev", "adas_fitted", "classic",
    "modified", "guide_value",
    "impact_code", "delta_v_kph",
    *[f"zone_hit_{z}" for z in ZONES], *[f"zone_sev_{z}" for z in ZONES],
    "n_zones", "max_severity", "sum_severity",
    "airbags_deployed", "drivable", "leaks", "engine_runs", "fire", "flood",
    "incident_time",
)  # fmt: skip
N_FEATURES = len(FEATURE_NAMES)
INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}

_REGION = {r: i for i, r in enumerate(REGIONS)}
_MAKE = {m.lower(): i for i, m in enumerate(MAKES)}
_SEGMENT = {s: i for i, s in enumerate(SEGMENTS)}
_BODY = {b: i for i, b in enumerate(BODY_TYPES)}
_POWERTRAIN = {p: i for i, p in enumerate(POWERTRAINS)}
_IMPACT = {p: i for i, p in enumerate(IMPACT_POINTS)}
_EPOCH = dt.date(1970, 1, 1)


def _incident_time(date: dt.date) -> float:
    return (date - _EPOCH).days / 365.2425 + 1970.0


def _guide(new_price, age, miles, is_ev, classic, modified) -> float:
    rate = YEARLY_DEPRECIATION_EV if is_ev else YEARLY_DEPRECIATION
    age = max(age, 0.0)
    value = new_price * (1.0 - FIRST_YEAR_DROP * min(age, 1.0))
    value *= (1.0 - rate) ** max(age - 1.0, 0.0) * (1.0 - PER_10K_MILES) ** (max(miles, 0) / 1e4)
    if classic:
        value = max(value, new_price * 0.30)
    if modified:
        value *= 0.93
    return max(value, SCRAP_FLOOR_GBP)


def _row(claim: Claim) -> list:
    v, a = claim.vehicle, claim.accident
    cat_i = catalogue_index(v.make, v.model)
    if cat_i >= 0:
        entry = CATALOGUE[cat_i]
        new_price, parts_index = entry.new_price, entry.parts_index
    else:
        new_price, parts_index = SEGMENT_DEFAULTS.get(v.segment, SEGMENT_DEFAULTS["family"])
    age = claim.vehicle_age_years
    is_ev = v.powertrain == "ev"
    sev = [a.zone_severity.get(z, 0.0) if z in a.zones_hit else 0.0 for z in ZONES]
    hit = [1.0 if z in a.zones_hit else 0.0 for z in ZONES]
    row = [
        _REGION[claim.region], REGION_PRICE_FACTOR[claim.region],
        _MAKE.get(v.make.strip().lower(), -1), cat_i, _SEGMENT[v.segment], _BODY[v.body_type],
        new_price, parts_index, 1.0 if cat_i >= 0 else 0.0,
        age, v.mileage, v.year, _POWERTRAIN[v.powertrain], is_ev, v.adas_fitted, v.classic,
        v.modified, round(_guide(new_price, age, v.mileage, is_ev, v.classic, v.modified)),
        _IMPACT[a.impact_point], a.delta_v_kph,
        *hit, *sev,
        sum(hit), max(sev), sum(sev),
        a.airbags_deployed, a.drivable, a.leaks, a.engine_runs, a.fire, a.flood,
        _incident_time(claim.incident_date),
    ]  # fmt: skip
    return row


def encode_claim(claim: Claim) -> np.ndarray:
    """One claim -> float32 vector of length N_FEATURES (no pandas)."""
    import numpy as np

    return np.asarray(_row(claim), dtype=np.float32)


def encode_row(claim: Claim) -> list[float]:
    """One claim -> N_FEATURES floats, each rounded to float32 exactly as ``encode_claim``."""
    return array("f", _row(claim)).tolist()


def encode_claims(claims: list[Claim]) -> np.ndarray:
    import numpy as np

    if not claims:
        return np.zeros((0, N_FEATURES), dtype=np.float32)
    return np.stack([encode_claim(c) for c in claims])


def _per_value(series: pd.Series, fn) -> np.ndarray:
    """``fn`` of each distinct value of ``series``, spread back over its rows (as float): a
    batch holds a few dozen distinct strings per column, so the string work is done once per
    value rather than per row (``str(value)`` as ``astype(str)``: NaN -> "nan")."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    return np.asarray([fn(str(u)) for u in uniques], dtype=float)[codes]


def _codes(series: pd.Series, vocab: dict[str, int], lower: bool = False) -> np.ndarray:
    if lower:
        return _per_value(series, lambda v: vocab.get(v.strip().lower(), -1))
    return _per_value(series, lambda v: vocab.get(v.strip(), -1))


def encode_frame(df: pd.DataFrame) -> np.ndarray:
    """Vectorised encoding of a flattened claims frame (columns of synthetic.REQUEST_COLUMNS)."""
    import numpy as np
    import pandas as pd

    missing = [c for c in ("region", "make", "model", "incident_date", "year") if c not in df]
    if missing:
        raise ValueError(f"claims frame lacks column(s) {missing}")
    unknown = sorted(set(df["region"].unique()) - set(REGIONS))
    if unknown:
        raise ValueError(f"unknown region(s) {unknown}; use one of {list(REGIONS)}")
    n = len(df)
    cat_vocab = {f"{e.make.lower()}|{e.model.lower()}": i for i, e in enumerate(CATALOGUE)}
    # each distinct (make, model) looked up once
    make_c, makes = pd.factorize(df["make"], use_na_sentinel=False)
    model_c, models = pd.factorize(df["model"], use_na_sentinel=False)
    width = max(len(models), 1)
    pairs, pair_c = np.unique(make_c.astype(np.int64) * width + model_c, return_inverse=True)
    names = [(str(makes[k // width]), str(models[k % width])) for k in pairs.tolist()]
    cat_i = np.asarray(
        [cat_vocab.get(f"{m.strip().lower()}|{n.strip().lower()}", -1) for m, n in names],
        dtype=int,
    )[pair_c.reshape(-1)]
    family = SEGMENT_DEFAULTS["family"]
    seg_c, segments = pd.factorize(df["segment"], use_na_sentinel=False)
    seg = np.asarray([SEGMENT_DEFAULTS.get(u, family) for u in segments], dtype=float)
    seg = seg.reshape(-1, 2)[seg_c]
    seg_price, seg_parts = seg[:, 0], seg[:, 1]
    cat_price = np.array([e.new_price for e in CATALOGUE])
    cat_parts = np.array([e.parts_index for e in CATALOGUE])
    known = cat_i >= 0
    new_price = np.where(known, cat_price[np.maximum(cat_i, 0)], seg_price)
    parts_index = np.where(known, cat_parts[np.maximum(cat_i, 0)], seg_parts)

    dates = pd.to_datetime(df["incident_date"]).to_numpy().astype("datetime64[D]")
    years = df["year"].to_numpy(dtype=int)
    first_reg = (years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 6  # 1 July
    age = np.maximum((dates - first_reg.astype("datetime64[D]")).astype(float) / 365.25, 0.0)
    mileage = df["mileage"].to_numpy(dtype=float)
    is_ev = (df["powertrain"] == "ev").to_numpy()
    classic = df["classic"].to_numpy(dtype=bool)
    modified = df["modified"].to_numpy(dtype=bool)
    guide = np.round(market_value(new_price, age, mileage, is_ev, 1.0, classic, modified))
    hit = np.stack([df[f"zone_hit_{z}"].to_numpy(dtype=float) for z in ZONES], 1)
    sev = np.stack([df[f"zone_sev_{z}"].to_numpy(dtype=float) for z in ZONES], 1) * hit
    t = (dates - np.datetime64("1970-01-01")).astype(float) / 365.2425 + 1970.0
    cols = [
        _codes(df["region"], _REGION), _per_value(df["region"], REGION_PRICE_FACTOR.__getitem__),
        _codes(df["make"], _MAKE, lower=True), cat_i.astype(float), _codes(df["segment"], _SEGMENT),
        _codes(df["body_type"], _BODY),
        new_price, parts_index, known.astype(float),
        age, mileage, years.astype(float), _codes(df["powertrain"], _POWERTRAIN), is_ev,
        df["adas_fitted"].to_numpy(float), classic, modified, guide,
        _codes(df["impact_point"], _IMPACT), df["delta_v_kph"].to_numpy(float),
        *hit.T, *sev.T,
        hit.sum(1), sev.max(1) if n else np.zeros(0), sev.sum(1),
        *(df[c].to_numpy(float) for c in ("airbags_deployed", "drivable", "leaks",
                                          "engine_runs", "fire", "flood")),
        t,
    ]  # fmt: skip
    return np.stack([np.asarray(c, dtype=np.float64) for c in cols], 1).astype(np.float32)
