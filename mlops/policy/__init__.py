"""Policy as code: CrossGuard rules (importable and testable) and an offline runner.

- ``rules`` / ``stack_rules``: the rules, registered in ``base.REGISTRY`` with level, severity, fix
  and config defaults.
- ``pack``: the arguments ``policy/__main__.py`` passes to ``pulumi_policy.PolicyPack``.
- ``check``: feeds recorded resources (and the stack) to the real validate functions offline.
- ``linters``: cfn-lint and asl-validator over rendered templates and state machines.
- ``documents``, ``iam_rules``: pure helpers the rules use, and the IAM rules over identity,
  resource and trust policies.
"""
