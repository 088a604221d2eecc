"""Reusable runtime pieces for any use case's inference repo.

- ``valuation_client``: HTTP client for external market data (timeout, retries, circuit breaker)
- ``workflow``: Step Functions Express definition builder (Retry + Catch on every task)
- ``lambda_utils``: Powertools helpers shared by the handlers
"""
