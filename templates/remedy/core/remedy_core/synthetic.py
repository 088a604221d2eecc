"""Seeded synthetic motor-claims generator with ground truth (vectorised numpy/pandas).

One row per claim: the request fields (flattened `Claim`) plus ground truth columns prefixed
`t_`. Calibration targets (domain reference; asserted in the tests):
  * mean final repair cost of repaired cars ~ GBP 4,000 (UK 2024: 7.7bn repairs / ~1.9m repaired)
  * total-loss share ~ 20% (18-24%)
  * parts ~ 45% of the repair bill; ~17% of damaged parts repaired rather than replaced
  * ~27 labour hours per repair; EVs +4 hours and more expensive labour
  * depreciation 15-25% in year 1, 8-11% a year after, ~3% per 10k miles
  * ~39% of first estimates get a supplement; salvage 15-25% of PAV (lower for A/B)
  * median hire ~12 days on the repair path
Costs are in GBP at the incident date (claims inflation 5% a year around mid-2024).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from remedy_core.claims import IMPACT_POINTS, MAX_MILEAGE, REGIONS, ZONES, Claim
from remedy_core.market import _REGION_FACTOR_ARRAY, market_value
from remedy_core.outputs import SALVAGE_CATEGORIES
from remedy_core.vehicles import catalogue_arrays


@dataclass(frozen=True)
class CostAssumptions:
    """Economic defaults (documented in the domain reference; configuration, not constants)."""

    labour_rate: dict[str, float] = field(
        default_factory=lambda: {
            "london": 60.0,
            "south_east": 53.0,
            "south_west": 47.0,
            "east": 48.0,
            "west_midlands": 46.0,
            "east_midlands": 45.0,
            "north_west": 46.0,
            "north_east": 42.0,
            "yorkshire": 44.0,
            "wales": 43.0,
            "scotland": 45.0,
            "northern_ireland": 41.0,
        }
    )
    hire_rate: dict[str, float] = field(
        default_factory=lambda: {
            "london": 99.0,
            "south_east": 88.0,
            "south_west": 75.0,
            "east": 78.0,
            "west_midlands": 72.0,
            "east_midlands": 70.0,
            "north_west": 72.0,
            "north_east": 65.0,
            "yorkshire": 68.0,
            "wales": 66.0,
            "scotland": 70.0,
            "northern_ireland": 62.0,
        }
    )
    towing_drivable: float = 192.0
    towing_damaged: float = 320.0
    storage_per_day: float = 20.0
    admin_fee: float = 150.0
    inspection_fee: float = 250.0
    investigation_delay_days: float = 5.0
    settlement_days: float = 10.0
    claims_inflation: float = 0.05
    base_date: dt.date = dt.date(2024, 7, 1)
    parts_price_index: float = 1.0
    """Multiplies every vehicle's parts prices (1.3: parts 30% dearer than the catalogue)."""


DEFAULT_COSTS = CostAssumptions()

REGION_WEIGHTS = np.array([0.14, 0.14, 0.08, 0.09, 0.09, 0.07, 0.11, 0.04, 0.08, 0.05, 0.08, 0.03])
IMPACT_WEIGHTS = np.array([0.32, 0.08, 0.08, 0.08, 0.08, 0.06, 0.06, 0.22, 0.02])
# impact point -> zones hit first (primary) and zones likely hit next (secondary)
_PRIMARY = {
    "front": ["front"], "front_left": ["front", "left"], "front_right": ["front", "right"],
    "left": ["left"], "right": ["right"], "rear_left": ["rear", "left"],
    "rear_right": ["rear", "right"], "rear": ["rear"], "rollover": ["roof", "left", "right"],
}  # fmt: skip
_SECONDARY = {
    "front": ["left", "right", "underbody"], "front_left": ["underbody", "roof"],
    "front_right": ["underbody", "roof"], "left": ["front", "rear", "roof"],
    "right": ["front", "rear", "roof"], "rear_left": ["underbody"], "rear_right": ["underbody"],
    "rear": ["left", "right", "underbody"], "rollover": ["front", "rear", "underbody"],
}  # fmt: skip
ZONE_PART_PRICE = np.array([1.3, 1.0, 0.9, 0.9, 1.2, 1.4])  # front rear left right roof underbody
HIDDEN_PROB = np.array([0.08, 0.08, 0.10, 0.10, 0.2, 0.35])
PAINTED = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
TRUTH_PREFIX = "t_"


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _repair_bill(sev, noise, parts_index, ev, structural, airbag, adas, rate, infl):
    """Bottom-up repair bill for severities `sev` (n, zones), sharing per-zone noise draws."""
    hit = sev > 0
    n_parts = np.where(hit, np.maximum(1.0 + 8.0 * sev + 1.2 * noise["count"], 1.0), 0.0)
    rshare = np.clip(0.72 + 0.35 * sev + 0.12 * noise["rshare"], 0.0, 1.0)
    replaced = n_parts * rshare
    repaired = n_parts - replaced
    price = 265.0 * parts_index[:, None] * ZONE_PART_PRICE[None, :] * noise["price"]
    price = price * np.where(ev, 1.25, 1.0)[:, None] * infl[:, None]
    parts = (replaced * price).sum(1) + structural * 650.0 * parts_index * infl
    labour_h = (replaced * 2.4 + repaired * 4.5 + hit * 3.0).sum(1)
    labour_h = labour_h + structural * 12.0 + ev * hit.any(1) * 4.0 + airbag * 3.0
    labour_rate = rate * np.where(ev, 1.25, 1.0) * infl
    paint_h = (hit * PAINTED[None, :] * (2.5 + 7.0 * sev)).sum(1)
    paint_cost = paint_h * (rate * infl + 34.0 * infl)
    adas_cost = adas * 380.0 * np.sqrt(parts_index) * infl
    airbag_cost = airbag * (1100.0 + 900.0 * parts_index) * infl
    total = parts + labour_h * labour_rate + paint_cost + adas_cost + airbag_cost
    total_parts = n_parts.sum(1)
    share = np.where(total_parts > 0, replaced.sum(1) / np.maximum(total_parts, 1e-9), 0.0)
    return {
        "parts_cost": parts,
        "labour_hours": labour_h,
        "labour_cost": labour_h * labour_rate,
        "paint_cost": paint_cost,
        "paint_hours": paint_h,
        "adas_cost": adas_cost,
        "airbag_cost": airbag_cost,
        "repair_cost": total,
        "replace_share": share,
        "n_parts": total_parts,
    }


def generate_claims(
    n: int, seed: int = 0, costs: CostAssumptions = DEFAULT_COSTS, start: str = "2022-01-01",
    end: str = "2025-12-31",
) -> pd.DataFrame:  # fmt: skip
    """Generate `n` claims with ground truth. Deterministic for (`n`, `seed`)."""
    if n <= 0:
        raise ValueError("n must be a positive number of claims")
    rng = np.random.default_rng(seed)
    cat = catalogue_arrays()
    nz = len(ZONES)

    # --- when and where
    d0, d1 = np.datetime64(start), np.datetime64(end)
    days = rng.integers(0, int((d1 - d0).astype(int)) + 1, n)
    dates = d0 + days.astype("timedelta64[D]")
    date_years = (dates - np.datetime64("1970-01-01")).astype(float) / 365.2425 + 1970.0
    incident_year = dates.astype("datetime64[Y]").astype(int) + 1970
    base = costs.base_date
    infl = (1.0 + costs.claims_inflation) ** (date_years - (base.year + 0.5))
    region_idx = rng.choice(len(REGIONS), n, p=REGION_WEIGHTS / REGION_WEIGHTS.sum())

    # --- vehicle
    vi = rng.choice(len(cat["make"]), n, p=cat["popularity"] / cat["popularity"].sum())
    age_raw = np.clip(rng.gamma(2.2, 3.3, n), 0.0, 32.0)
    year = np.floor(date_years - age_raw).astype(int)
    year = np.clip(year, np.minimum(cat["first_year"][vi], incident_year), incident_year)
    first_reg = pd.to_datetime(pd.DataFrame({"year": year, "month": 7, "day": 1})).to_numpy()
    first_reg = first_reg.astype("datetime64[D]")
    age = np.maximum((dates - first_reg).astype(float) / 365.25, 0.0)
    mileage = np.round(age * rng.lognormal(np.log(7_800), 0.45, n) + rng.uniform(5, 400, n), -1)
    # the lognormal tail on a 30-year-old car can pass the request schema's odometer bound; a
    # generated claim must always be a valid request
    mileage = np.minimum(mileage, MAX_MILEAGE)

    # powertrain from what the model offers, EV/hybrid more likely on newer cars
    offered = np.zeros((len(cat["make"]), 4))
    from remedy_core.vehicles import CATALOGUE

    for i, e in enumerate(CATALOGUE):
        for j, p in enumerate(("petrol", "diesel", "hybrid", "ev")):
            offered[i, j] = p in e.powertrains
    newer = np.clip((year - 2010) / 14.0, 0.0, 1.0)
    w = offered[vi] * np.stack(
        [0.55 * np.ones(n), 0.45 - 0.35 * newer, 0.05 + 0.25 * newer, 0.02 + 0.4 * newer], 1
    )
    w = w * np.stack([np.ones(n), np.ones(n), year >= 2005, year >= 2012], 1)
    w[w.sum(1) == 0, 0] = 1.0
    cum = np.cumsum(w / w.sum(1, keepdims=True), 1)
    pt_idx = np.minimum((rng.random(n)[:, None] > cum).sum(1), 3)
    ev = pt_idx == 3
    adas = rng.random(n) < np.clip((year - 2012) / 8.0, 0.05, 0.95)
    sporty = np.isin(cat["segment"][vi], ["sports", "luxury"])
    classic = (age >= 25) & (rng.random(n) < np.where(sporty, 0.8, 0.15))
    modified = rng.random(n) < 0.03
    new_price = cat["new_price"][vi]
    parts_index = cat["parts_index"][vi] * costs.parts_price_index

    # --- accident
    imp_idx = rng.choice(len(IMPACT_POINTS), n, p=IMPACT_WEIGHTS / IMPACT_WEIGHTS.sum())
    dv = np.clip(rng.lognormal(np.log(17.0), 0.55, n), 2.0, 130.0)
    dv = np.where(imp_idx == IMPACT_POINTS.index("rollover"), dv * 1.8, dv)
    primary = np.zeros((n, nz), dtype=bool)
    secondary = np.zeros((n, nz), dtype=bool)
    for k, point in enumerate(IMPACT_POINTS):
        rows = imp_idx == k
        for z in _PRIMARY[point]:
            primary[rows, ZONES.index(z)] = True
        for z in _SECONDARY[point]:
            secondary[rows, ZONES.index(z)] = True
    sec_hit = secondary & (rng.random((n, nz)) < _sigmoid((dv[:, None] - 30.0) / 8.0))
    base_sev = _sigmoid((dv - 24.0) / 9.0)
    sev_primary = np.clip(0.05 + 0.9 * base_sev[:, None] + rng.normal(0, 0.12, (n, nz)), 0.03, 1)
    sev_second = np.clip(0.6 * base_sev[:, None] + rng.normal(0, 0.1, (n, nz)), 0.03, 1)
    true_sev = np.where(primary, sev_primary, np.where(sec_hit, sev_second, 0.0))
    fire = rng.random(n) < 0.003 + 0.03 * (dv > 55)
    flood = rng.random(n) < 0.008
    ub = ZONES.index("underbody")
    true_sev[flood, ub] = np.clip(0.85 + rng.normal(0, 0.05, flood.sum()), 0.03, 1)
    true_sev = np.where(fire[:, None] & (true_sev > 0), np.clip(true_sev + 0.3, 0, 1), true_sev)
    true_hit = true_sev > 0
    max_sev = true_sev.max(1)
    structural = rng.random(n) < _sigmoid((dv - 40.0) / 7.0 + 3.0 * (max_sev - 0.75))
    front_like = np.isin(imp_idx, [IMPACT_POINTS.index(p) for p in ("front", "front_left",
                         "front_right", "left", "right", "rollover")])  # fmt: skip
    airbag = rng.random(n) < np.where(front_like, _sigmoid((dv - 27.0) / 4.0),
                                      _sigmoid((dv - 48.0) / 5.0))  # fmt: skip
    front_sev = true_sev[:, ZONES.index("front")]
    mech = (rng.random(n) < _sigmoid((dv - 34.0) / 6.0 + 3.0 * (front_sev - 0.7))) | flood | fire
    adas_zone = true_hit[:, [ZONES.index("front"), ZONES.index("rear"), ZONES.index("roof")]]
    adas_need = adas & adas_zone.any(1) & (rng.random(n) < 0.85)

    # --- what is visible at first notification / first estimate
    hidden = true_hit & ~primary & (rng.random((n, nz)) < HIDDEN_PROB[None, :])
    under = np.where(rng.random((n, nz)) < 0.19, rng.beta(1.5, 6, (n, nz)), 0.0)
    vis_sev = np.where(true_hit & ~hidden, true_sev * (1.0 - under), 0.0)
    vis_sev = np.where(true_hit & ~hidden, np.maximum(vis_sev, 0.02), 0.0)
    struct_visible = structural & (rng.random(n) < 0.75)
    reported_airbags = airbag & (rng.random(n) < 0.95)
    reported_sev = np.where(vis_sev > 0, np.clip(vis_sev + rng.normal(0, 0.06, (n, nz)), 0.01, 1),
                            0.0)  # fmt: skip
    drivable_reported = np.where(rng.random(n) < 0.08, mech, ~mech)
    leaks = ((front_sev > 0.35) & (rng.random(n) < 0.25 + 0.6 * front_sev)) | (mech & flood)
    engine_runs = ~((mech & (rng.random(n) < 0.6)) | (flood & (rng.random(n) < 0.7)))

    # --- costs: first estimate (visible) and final (true), sharing the per-zone noise
    noise = {
        "count": rng.normal(0, 1, (n, nz)),
        "rshare": rng.normal(0, 1, (n, nz)),
        "price": rng.lognormal(0, 0.25, (n, nz)),
    }
    rate = np.array([costs.labour_rate[r] for r in REGIONS])[region_idx]
    est = _repair_bill(vis_sev, noise, parts_index, ev, struct_visible, reported_airbags,
                       adas_need, rate, infl)  # fmt: skip
    fin = _repair_bill(true_sev, noise, parts_index, ev, structural, airbag, adas_need, rate, infl)
    supplement = np.maximum(fin["repair_cost"] - est["repair_cost"], 0.0)
    supplement = np.where(supplement < 25.0, 0.0, supplement)
    supplement_rate = supplement / np.maximum(est["repair_cost"], 1.0)

    # --- value, salvage, time
    condition = rng.lognormal(0.0, 0.05, n)
    pav = market_value(new_price, age, mileage, ev, _REGION_FACTOR_ARRAY[region_idx], classic,
                       modified) * condition  # fmt: skip
    cat_a = (fire & (max_sev > 0.6)) | (structural & (max_sev > 0.93) & (dv > 60))
    cat_b = ~cat_a & (flood | (structural & (max_sev > 0.82)))
    cat_s = ~cat_a & ~cat_b & structural
    category = np.where(cat_a, "A", np.where(cat_b, "B", np.where(cat_s, "S", "N")))
    frac = np.select(
        [cat_a, cat_b, cat_s],
        [rng.uniform(0.02, 0.05, n), rng.uniform(0.06, 0.12, n), rng.uniform(0.14, 0.2, n)],
        rng.uniform(0.17, 0.25, n),
    )
    salvage = pav * frac
    parts_wait = rng.lognormal(np.log(2.5), 0.5, n) + 3.0 * ev + 1.5 * (parts_index > 1.4)
    repair_days = 1.0 + fin["labour_hours"] / 6.0 + parts_wait + 2.0 * (supplement > 0)
    hire_days = repair_days + 3.0 + rng.uniform(0, 2, n)

    # --- economics of both paths and the true decision
    hire = np.array([costs.hire_rate[r] for r in REGIONS])[region_idx]
    towing = np.where(mech, costs.towing_damaged, 0.0)
    storage = np.where(mech, 5.0 * costs.storage_per_day, 0.0)
    repair_path = fin["repair_cost"] + hire_days * hire + towing + storage
    settle = costs.settlement_days + rng.uniform(-3, 5, n)
    wo_towing = np.where(mech, costs.towing_damaged, costs.towing_drivable)
    writeoff_path = (pav - salvage + settle * hire + wo_towing + settle * costs.storage_per_day
                     + costs.admin_fee)  # fmt: skip
    safety = cat_a | cat_b
    total_loss = safety | (writeoff_path < repair_path)

    ids = pd.Series(np.arange(n)).map(lambda i: f"S{seed}-{i:07d}")
    df = pd.DataFrame(
        {
            "claim_id": ids.to_numpy(),
            "region": np.array(REGIONS)[region_idx],
            "make": cat["make"][vi],
            "model": cat["model"][vi],
            "segment": cat["segment"][vi],
            "body_type": cat["body_type"][vi],
            "year": year,
            "mileage": mileage,
            "powertrain": np.array(["petrol", "diesel", "hybrid", "ev"])[pt_idx],
            "adas_fitted": adas,
            "classic": classic,
            "modified": modified,
            "impact_point": np.array(IMPACT_POINTS)[imp_idx],
            "delta_v_kph": np.round(dv, 1),
            **{f"zone_hit_{z}": reported_sev[:, j] > 0 for j, z in enumerate(ZONES)},
            **{f"zone_sev_{z}": np.round(reported_sev[:, j], 3) for j, z in enumerate(ZONES)},
            "airbags_deployed": reported_airbags,
            "drivable": drivable_reported,
            "leaks": leaks,
            "engine_runs": engine_runs,
            "fire": fire,
            "flood": flood,
            "incident_date": dates,
        }
    )
    t = TRUTH_PREFIX
    truth = {
        f"{t}age_years": age,
        **{f"{t}zone_{z}": true_hit[:, j] for j, z in enumerate(ZONES)},
        **{f"{t}sev_{z}": true_sev[:, j] for j, z in enumerate(ZONES)},
        f"{t}replace_share": est["replace_share"],
        f"{t}parts_cost": est["parts_cost"],
        f"{t}labour_hours": est["labour_hours"],
        f"{t}labour_cost": est["labour_cost"],
        f"{t}paint_cost": est["paint_cost"],
        f"{t}paint_hours": est["paint_hours"],
        f"{t}final_paint_hours": fin["paint_hours"],
        f"{t}adas_cost": est["adas_cost"],
        f"{t}airbag_cost": est["airbag_cost"],
        f"{t}estimate": est["repair_cost"],
        f"{t}final_repair_cost": fin["repair_cost"],
        f"{t}final_parts_cost": fin["parts_cost"],
        f"{t}final_labour_hours": fin["labour_hours"],
        f"{t}final_replace_share": fin["replace_share"],
        f"{t}supplement": supplement,
        f"{t}supplement_rate": supplement_rate,
        f"{t}structural": structural,
        f"{t}airbag": airbag,
        f"{t}adas_recal": adas_need,
        f"{t}drivable": ~mech,
        f"{t}repair_days": repair_days,
        f"{t}hire_days": hire_days,
        f"{t}pav": pav,
        f"{t}new_price": new_price,
        f"{t}salvage": salvage,
        f"{t}salvage_category": category,
        f"{t}repair_path_cost": repair_path,
        f"{t}writeoff_path_cost": writeoff_path,
        f"{t}total_loss": total_loss,
        f"{t}decision": np.where(total_loss, "write_off", "repair"),
    }
    return pd.concat([df, pd.DataFrame(truth)], axis=1)


REQUEST_COLUMNS = (
    "claim_id", "region", "make", "model", "segment", "body_type", "year", "mileage",
    "powertrain", "adas_fitted", "classic", "modified", "impact_point", "delta_v_kph",
    *[f"zone_hit_{z}" for z in ZONES], *[f"zone_sev_{z}" for z in ZONES],
    "airbags_deployed", "drivable", "leaks", "engine_runs", "fire", "flood", "incident_date",
)  # fmt: skip

assert set(SALVAGE_CATEGORIES) == {"A", "B", "S", "N"}


def row_to_claim(row: dict) -> Claim:
    """Build the request `Claim` from one generated row (ground truth is left out)."""
    zones = [z for z in ZONES if bool(row[f"zone_hit_{z}"])]
    date = pd.Timestamp(row["incident_date"]).date()
    return Claim(
        claim_id=str(row["claim_id"]),
        region=row["region"],
        vehicle={
            "make": row["make"],
            "model": row["model"],
            "segment": row["segment"],
            "body_type": row["body_type"],
            "year": int(row["year"]),
            "mileage": float(row["mileage"]),
            "powertrain": row["powertrain"],
            "adas_fitted": bool(row["adas_fitted"]),
            "classic": bool(row["classic"]),
            "modified": bool(row["modified"]),
        },
        accident={
            "impact_point": row["impact_point"],
            "delta_v_kph": float(row["delta_v_kph"]),
            "zones_hit": zones,
            "zone_severity": {z: float(row[f"zone_sev_{z}"]) for z in zones},
            "airbags_deployed": bool(row["airbags_deployed"]),
            "drivable": bool(row["drivable"]),
            "leaks": bool(row["leaks"]),
            "engine_runs": bool(row["engine_runs"]),
            "fire": bool(row["fire"]),
            "flood": bool(row["flood"]),
        },
        incident_date=date,
    )


def frame_to_claims(df: pd.DataFrame) -> list[Claim]:
    return [row_to_claim(r) for r in df[list(REQUEST_COLUMNS)].to_dict("records")]
