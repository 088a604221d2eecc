"""Offline Pulumi harness: mocks that record every resource, shared by tests and `mlops preview`."""
