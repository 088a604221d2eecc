"""Serving code of this use case: the model wrapper, the HTTP API and the SageMaker handler."""
