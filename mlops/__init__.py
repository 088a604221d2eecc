"""mlops-platform library and CLI (docs/architecture.md has the picture).

Packages:

- ``components``: the Pulumi building blocks, one module per block (its ``__init__`` is the index)
- ``delivery``: pure helpers and build-time scripts for use-case delivery (buildspecs, event
  patterns, promotion metadata, locked installs, deploy and rollback)
- ``inference``: runtime pieces every inference repo reuses (workflow, serving documents)
- ``analytics``: decision analytics (SQL views for two engines, the DuckDB warehouse, dashboards)
- ``onboarding``: the template store, rendering, manifests, onboarding and updates
- ``policy``: the CrossGuard rules and their offline runner
- ``rehearsal``: ``mlops rehearse``, every runtime flow evaluated offline as AWS evaluates it
- ``cost``: ``mlops cost``, a monthly estimate of a stack from its recorded resources
- ``local``: local mode, the platform's AWS surface on one machine, and ``mlops demo``
- ``testing``: the offline Pulumi harness (recording mocks) shared by tests and ``mlops preview``

Modules:

- ``cli``: the ``mlops`` command line (thin); ``console``: its output; ``errors``: errors a user
  can act on
- ``config``: typed stack configuration; ``usecases``: the use-case manifest schema and loader;
  ``backends``: where each program's state lives; ``naming``: every physical AWS name; ``tags``
- ``iam``: pure builders for IAM, key and bucket policies; ``events``: the versioned event base,
  privacy guards and table registry; ``quotas``: AWS quotas and naming rules, checked offline
- ``program``: the real Pulumi program under recording mocks; ``preview``: ``mlops preview``
- ``sagemaker_pipelines``: the governed training pipeline; ``training``: ``mlops train --local``;
  ``backtest``: ``mlops backtest``; ``offboard``: ``mlops offboard``
"""

__version__ = "0.1.0"
