"""Reusable runtime pieces for any use case's inference repo.

- ``valuation_client``: HTTP client for external market data (timeout, retries with backoff,
  circuit breaker, key from config or Secrets Manager)
- ``workflow``: Step Functions Express definition (encode -> (predict || enrich) -> decide) with
  Retry + Catch on every task; failures become reasons, never a failed execution
- ``serving_docs``: IAM documents, API Gateway templates and request JSON Schema for
  ``mlops.components.serving.InferenceService``
- ``stack_settings``: the settings every use case's inference stack shares (its
  ``Pulumi.<stack>.yaml``)
- ``fallback``: what the service answers when it cannot decide (generic by default; a use case
  passes its own wording)
"""
