"""HTTP client for an external valuation (market data) API: timeout, retries, circuit breaker.

Generic over the payload (JSON in, JSON out); the use case's adapter validates the answer with its
own pydantic model. Every failure surfaces as ``DependencyError`` with a stable ``code``
(TIMEOUT, UPSTREAM_ERROR, BAD_RESPONSE, CIRCUIT_OPEN, NOT_FOUND, CLIENT_ERROR) so the decision
can answer ``investigate`` with a reason instead of failing.

- Timeout per attempt (``timeout_s``) and an overall ``deadline_s`` across retries, so the
  workflow's task timeout is never exceeded.
- Retries on timeouts, connection errors, 429 and 5xx, with exponential backoff and full jitter.
  4xx other than 429 are not retried.
- Circuit breaker: after ``failure_threshold`` consecutive failed calls it opens and fails fast
  for ``reset_after_s``; then one trial call (half-open) closes or re-opens it.
- Base URL and API key from config; the key may come from Secrets Manager (``api_key_secret_id``)
  through Powertools' cached parameters utility, resolved lazily on first use.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

DependencyCode = Literal[
    "TIMEOUT", "UPSTREAM_ERROR", "BAD_RESPONSE", "CIRCUIT_OPEN", "NOT_FOUND", "CLIENT_ERROR"
]


class DependencyError(Exception):
    """A dependency call failed; ``code`` is stable and safe to show in a decision reason."""

    def __init__(self, code: DependencyCode, detail: str, *, attempts: int = 0) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: DependencyCode = code
        self.detail = detail
        self.attempts = attempts


class ValuationClientConfig(BaseModel):
    """Settings for the valuation API client (from stack config / environment)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(pattern=r"^https?://", description="e.g. https://valuations.example.com")
    path: str = Field(default="/v1/valuations", pattern=r"^/")
    api_key: SecretStr | None = None
    api_key_secret_id: str | None = Field(
        default=None, description="Secrets Manager id/ARN holding the key (instead of api_key)"
    )
    api_key_header: str = "x-api-key"
    timeout_s: float = Field(default=2.0, gt=0, le=30)
    deadline_s: float = Field(default=4.0, gt=0, le=60, description="Budget across all attempts")
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_base_s: float = Field(default=0.1, ge=0)
    backoff_max_s: float = Field(default=1.0, ge=0)
    failure_threshold: int = Field(default=5, ge=1)
    reset_after_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _deadline_covers_one_attempt(self) -> ValuationClientConfig:
        if self.deadline_s < self.timeout_s:
            raise ValueError(
                f"deadline_s ({self.deadline_s}) must be >= timeout_s ({self.timeout_s})"
            )
        return self


class CircuitBreaker:
    """Consecutive-failure circuit breaker (thread-safe; clock injectable for tests)."""

    def __init__(
        self,
        failure_threshold: int,
        reset_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            return self._state()

    def _state(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_after_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        with self._lock:
            state = self._state()
            if state == "half_open":
                # let exactly one trial through: re-arm the timer until it reports back
                self._opened_at = self._clock()
                return True
            return state == "closed"

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._opened_at = self._clock()


def resolve_api_key(config: ValuationClientConfig) -> str | None:
    """The API key: inline from config, else from Secrets Manager (cached by Powertools)."""
    if config.api_key is not None:
        return config.api_key.get_secret_value()
    if config.api_key_secret_id:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(config.api_key_secret_id, max_age=300)
        return value if isinstance(value, str) else json.dumps(value)
    return None


class ValuationClient:
    """POST JSON to the valuation API and return the decoded JSON object."""

    def __init__(
        self,
        config: ValuationClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.breaker = CircuitBreaker(config.failure_threshold, config.reset_after_s, clock)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._api_key: str | None = None
        self._key_resolved = False
        self._http = httpx.Client(
            base_url=config.base_url,
            timeout=httpx.Timeout(config.timeout_s),
            transport=transport,
            headers={"accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ValuationClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        if not self._key_resolved:
            self._api_key = resolve_api_key(self.config)
            self._key_resolved = True
        return {self.config.api_key_header: self._api_key} if self._api_key else {}

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, cap)

    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One logical call with retries; raises ``DependencyError``."""
        if not self.breaker.allow():
            raise DependencyError("CIRCUIT_OPEN", "valuation API circuit is open; failing fast")
        start = self._clock()
        last: DependencyError | None = None
        for attempt in range(1, self.config.max_attempts + 1):
            try:
                result = self._attempt(payload, attempt)
            except DependencyError as err:
                last = err
                retryable = err.code in ("TIMEOUT", "UPSTREAM_ERROR")
                if not retryable or attempt == self.config.max_attempts:
                    break
                pause = self.backoff(attempt)
                if self._clock() - start + pause + self.config.timeout_s > self.config.deadline_s:
                    break
                self._sleep(pause)
                continue
            self.breaker.record_success()
            return result
        assert last is not None
        if last.code in ("TIMEOUT", "UPSTREAM_ERROR", "BAD_RESPONSE"):
            self.breaker.record_failure()
        raise last

    def _attempt(self, payload: dict[str, Any], attempt: int) -> dict[str, Any]:
        try:
            response = self._http.post(self.config.path, json=payload, headers=self._headers())
        except httpx.TimeoutException as exc:
            raise DependencyError(
                "TIMEOUT", f"no answer within {self.config.timeout_s}s", attempts=attempt
            ) from exc
        except httpx.TransportError as exc:
            raise DependencyError(
                "UPSTREAM_ERROR", f"connection failed: {type(exc).__name__}", attempts=attempt
            ) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise DependencyError("UPSTREAM_ERROR", f"HTTP {status}", attempts=attempt)
        if status == 404:
            raise DependencyError("NOT_FOUND", "no valuation for this item", attempts=attempt)
        if status >= 400:
            raise DependencyError("CLIENT_ERROR", f"HTTP {status}", attempts=attempt)
        try:
            body = response.json()
        except ValueError as exc:
            raise DependencyError("BAD_RESPONSE", "body is not JSON", attempts=attempt) from exc
        if not isinstance(body, dict):
            raise DependencyError("BAD_RESPONSE", "body is not a JSON object", attempts=attempt)
        return body
