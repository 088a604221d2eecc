"""The decision workflow in-process: encode -> (predict || market data) -> decide -> audit.

Same step order and the same pure code as the Step Functions workflow's Lambdas; used by the
local decision API and the benchmark. Every dependency failure becomes an ``investigate``
decision with a reason; nothing here raises for a failed dependency.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from remedy_core.bundle import Bundle
from remedy_core.claims import Claim
from remedy_core.decision import Decision, ModelFailureCode, decide
from remedy_core.features import FEATURES_VERSION, encode_claim
from remedy_core.outputs import ModelOutputs
from remedy_core.rules import RuleConfig
from remedy_core.valuation import MarketEvidence, ValuationError, ValuationRequest, ValuationSource
from remedy_inference.audit import EventSink, decision_event
from remedy_inference.compiled import CompiledBundle

log = logging.getLogger("remedy.service")


class ModelUnavailable(Exception):
    def __init__(self, code: ModelFailureCode, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code: ModelFailureCode = code


class Predictor(Protocol):
    def predict_one(self, features: np.ndarray) -> ModelOutputs: ...


class NoModel:
    """Predictor used while no approved model is deployed."""

    def predict_one(self, features: np.ndarray) -> ModelOutputs:
        raise ModelUnavailable("MODEL_NOT_DEPLOYED", "no approved model package yet")


class BundlePredictor:
    """All 14 models in one ONNX Runtime session: a ``Bundle`` or (faster) a ``CompiledBundle``."""

    def __init__(self, bundle: Bundle | CompiledBundle) -> None:
        self.bundle = bundle

    def predict_one(self, features: np.ndarray) -> ModelOutputs:
        try:
            return self.bundle.predict_one(features)
        except ValueError as exc:
            raise ModelUnavailable("MODEL_BAD_OUTPUT", str(exc)) from exc


class DecisionService:
    """Runs one decision end to end and emits exactly one audit event for it."""

    def __init__(
        self,
        *,
        predictor: Predictor,
        valuation: ValuationSource,
        sink: EventSink,
        config: RuleConfig | None = None,
        pseudonymisation_key: str = "local-only-pseudonymisation-key",
        store_size: int = 10_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.predictor = predictor
        self.valuation = valuation
        self.sink = sink
        self.config = config or RuleConfig()
        self.key = pseudonymisation_key
        self.clock = clock
        self._store: OrderedDict[str, Decision] = OrderedDict()
        self._store_size = store_size
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="market")

    def _market(self, claim: Claim) -> tuple[MarketEvidence | None, str | None]:
        try:
            return self.valuation.lookup(ValuationRequest.from_claim(claim)), None
        except ValuationError as err:
            return None, f"{err.code}: {err.detail}"
        except Exception as exc:  # any other adapter bug must still not fail the decision
            return None, f"UPSTREAM_ERROR: {type(exc).__name__}"

    def decide(self, claim: Claim) -> Decision:
        started = time.perf_counter()
        # 1. encode
        features = encode_claim(claim)
        # 2. in parallel: market data (thread) and predict (this thread)
        market_future = self._pool.submit(self._market, claim)
        outputs: ModelOutputs | None = None
        failure: ModelFailureCode | None = None
        failure_detail = ""
        try:
            outputs = self.predictor.predict_one(features)
        except ModelUnavailable as err:
            failure, failure_detail = err.code, str(err)
        except Exception as exc:  # endpoint/runtime failure of any kind -> investigate
            failure, failure_detail = "MODEL_UNAVAILABLE", f"{type(exc).__name__}: {exc}"
        market, market_error = market_future.result()
        # 3. decide
        decision = decide(
            claim,
            outputs,
            market,
            config=self.config,
            decision_id=str(uuid.uuid4()),
            market_error=market_error,
            model_failure=failure,
            features_version=FEATURES_VERSION,
        )
        latency_ms = (time.perf_counter() - started) * 1000.0
        # Dependency failures never fail the request, so say so in the service log (operators
        # alert on these; the audit event carries the reason codes for analytics).
        if failure:
            log.warning(
                "decision %s: model failed (%s), recommendation %s",
                decision.decision_id, failure_detail[:200], decision.recommendation,
            )  # fmt: skip
        if market_error:
            log.warning(
                "decision %s: market data unavailable (%s), PAV from %s, recommendation %s",
                decision.decision_id, market_error[:200], decision.pav.source,
                decision.recommendation,
            )  # fmt: skip
        # 4. audit: exactly one event per decision
        self.sink.emit(
            decision_event(
                decision,
                claim,
                outputs,
                decided_at=self.clock(),
                latency_ms=latency_ms,
                pseudonymisation_key=self.key,
            )
        )
        self._remember(decision)
        return decision

    def _remember(self, decision: Decision) -> None:
        self._store[decision.decision_id] = decision
        while len(self._store) > self._store_size:
            self._store.popitem(last=False)

    def get(self, decision_id: str) -> Decision | None:
        return self._store.get(decision_id)

    def recent(self, limit: int = 100) -> list[Decision]:
        """The newest decisions first (for the claims-handler view)."""
        return list(reversed(self._store.values()))[:limit]
