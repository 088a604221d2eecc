"""Market-data sources behind ``remedy_core.valuation.ValuationSource``.

- ``SyntheticMarket``: in-process, over ``remedy_core.market`` (local mode, tests, benchmark);
  defined in ``remedy_core.synthetic_market`` (the training repo's backtest uses it too).
- ``HttpValuationSource``: the external valuation API through the platform's resilient client
  (timeout, retries with backoff, circuit breaker); every failure becomes a ``ValuationError``.
"""

from __future__ import annotations

from mlops.inference.valuation_client import DependencyError, ValuationClient
from pydantic import ValidationError

from remedy_core.synthetic_market import SyntheticMarket  # noqa: F401 - re-exported
from remedy_core.valuation import MarketEvidence, ValuationError, ValuationRequest


class HttpValuationSource:
    """``ValuationSource`` over the external valuation API."""

    def __init__(self, client: ValuationClient) -> None:
        self.client = client

    def lookup(self, request: ValuationRequest) -> MarketEvidence:
        try:
            body = self.client.post(request.model_dump(mode="json"))
        except DependencyError as err:
            raise ValuationError(err.code, err.detail) from err  # type: ignore[arg-type]
        try:
            return MarketEvidence.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise ValuationError("BAD_RESPONSE", f"{where}: {first['msg']}") from exc
