"""`mlops rehearse`: every runtime flow of a use case's estate, evaluated offline the way AWS
evaluates it (permissions, keys, trust, network). See docs/rehearsal.md.

- ``commands``: the command; ``report``: its tables and JSON
- ``programs``: every program of the estate under the recording mocks, in deployment order;
  ``estate``: the identities, resource policies, keys, buckets and networks they produce;
  ``networks``: one network model per (account, region)
- ``model``: the vocabulary (principals, calls, origins, policies, requests, decisions);
  ``declare``: runtime actors declared next to the code that creates them; ``contracts``:
  agreements between programs that IAM does not see
- ``evaluator``: AWS's policy evaluation for one request; ``conditions``: condition operators,
  policy variables and context keys; ``catalogue``: which actions exist, on which resources,
  with which condition keys; ``reach``: network reachability of a call from its origin
- ``scenarios``: the ordered steps and the attacks; ``platform_up``: `pulumi up` as the deployer,
  step by step; ``training``: the training flow's SageMaker side; ``runner``: evaluates steps
- ``provider_calls``: what the AWS provider calls to create each recorded resource, and what
  AWS services then call because of it
"""
