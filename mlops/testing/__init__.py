"""Offline Pulumi harness: mocks that record every resource, shared by tests and `mlops preview`.

- ``mocks``: engine-faithful mocks that record every registered resource, and a program runner
- ``outputs``: provider-computed outputs in the shapes AWS and pulumi-aws return them
- ``autonaming``: auto-naming as pulumi-aws does it (which property, how long, what it looks like)
- ``references``: StackReference resolution that follows the state-backend layout
- ``fake_github``: an in-process fake of GitHub (REST calls and git smart HTTP) for tests
"""
