"""Remedy inference: decision workflow handlers, local decision API, SageMaker inference script."""
