"""Local mode: the platform's AWS surface on one machine (moto server), for the demo and tests.

- ``cli``: the ``mlops demo`` and ``mlops serve`` commands (registered by ``mlops.cli``)
- ``demo``: ``mlops demo``, the whole lifecycle of the example use case, phase by phase;
  ``workdir``: its work directory (every run starts clean and says why); ``monitoring_phase``:
  the model-health phase (a shifted month, drift and quality alarms, a worse model rolled back)
- ``embedded_aws``: moto server on a loopback port; ``environment``: what the platform provisions
  for one use case, on it; ``governance``: model approval under the platform's real IAM policies
- ``deployment``: the valuation service and the decision API on loopback; ``processes``: local
  services as child processes, health-checked and always stopped
- ``shipper``, ``analytics_stream``: audit lines to CloudWatch Logs, and Logs → Firehose → S3
- ``remedy``: the demo's use case (its manifest and template code from this checkout);
  ``seed``: a seeded run of its decisions through the local stream into the warehouse
"""
