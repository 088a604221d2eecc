"""Decisions for many claims at once: vectorised features, every head in one call per chunk,
vectorised rules (``rules.economic_batch``, property-tested equal to the scalar rules). The path
backtests and replays use (and ``make bench`` measures).

``model`` is anything with ``predict_raw(X) -> {head: values}`` - the compiled bundle of the
inference repo, or the training library's ``Bundle``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from remedy_core.claims import Claim
from remedy_core.features import encode_frame
from remedy_core.rules import RECOMMENDATIONS, RuleConfig, UkJurisdiction, economic_batch
from remedy_core.valuation import choose_pav

CHUNK = 4096


def claim_columns(claims: Sequence[Claim], markets: Sequence[Any], cfg: RuleConfig) -> dict:
    """Per-claim facts the rules need that do not come from the models (market PAV fetched
    beforehand; NaN where the market gave no usable value)."""
    pav = []
    for m in markets:
        p = choose_pav(m, None, min_comparables=cfg.min_comparables,
                       model_max_spread=cfg.model_pav_max_spread,
                       disagreement_flag=cfg.pav_disagreement_flag)  # fmt: skip
        pav.append(np.nan if p.value is None else p.value)
    acc = [c.accident for c in claims]
    return {
        "pav": np.asarray(pav, dtype=float),
        "drivable": np.array([a.drivable for a in acc], dtype=bool),
        "fire": np.array([a.fire for a in acc], dtype=bool),
        "flood": np.array([a.flood for a in acc], dtype=bool),
        "special": np.array([c.vehicle.classic or c.vehicle.modified for c in claims], dtype=bool),
        "missing": np.array([not a.zones_hit for a in acc], dtype=bool),
    }


def decide_batch(
    model: Any,
    frame: pd.DataFrame,
    cols: dict[str, np.ndarray],
    cfg: RuleConfig,
    chunk: int = CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> np.ndarray:
    """One recommendation index per claim (``RECOMMENDATIONS[i]``)."""
    out = np.empty(len(frame), dtype=np.int8)
    for start in range(0, len(frame), chunk):
        sl = slice(start, start + chunk)
        X = encode_frame(frame.iloc[sl])
        v = model.predict_raw(X)
        cat = v["salvage_category"]
        p_ab = (cat[:, 0] + cat[:, 1]) / cat.sum(1)
        p10, p50, p90 = np.sort(np.stack([v["repair_cost_p10"], v["repair_cost_p50"],
                                          v["repair_cost_p90"]], 1), 1).T  # fmt: skip
        args = {"p10": p10, "p50": p50, "p90": p90, "supplement_rate": v["supplement_rate"],
                "hire_days": v["hire_days"], "salvage_value": v["salvage_value"], "p_ab": p_ab,
                **{k: cols[k][sl] for k in ("pav", "drivable", "fire", "flood", "special",
                                            "missing")}}  # fmt: skip
        if isinstance(cfg.jurisdiction, UkJurisdiction):  # one threshold for every region
            out[sl] = economic_batch(cfg, **args)
        else:  # US thresholds are per state: one call per region in the chunk
            regions = frame["region"].to_numpy()[sl]
            part = np.empty(len(regions), dtype=np.int8)
            for region in np.unique(regions):
                mask = regions == region
                part[mask] = economic_batch(
                    cfg, **{k: a[mask] for k, a in args.items()}, region=str(region)
                )
            out[sl] = part
        if on_chunk is not None:
            on_chunk(min(start + chunk, len(frame)) - start)
    return out


def labels(indices: np.ndarray) -> np.ndarray:
    return np.asarray(RECOMMENDATIONS, dtype=object)[indices]
