"""Decision analytics: SQL views (one source, two engines), the DuckDB warehouse, dashboards.

- ``views``: the views written once in SQL, translated with sqlglot for DuckDB and Snowflake;
  ``warehouse``: the embedded DuckDB warehouse and its idempotent loader; ``settings``: the
  ``analytics:`` block of a stack's settings
- ``firehose_transform``: the Firehose transformation Lambda (validate, flatten, partition);
  ``records``: decode what Firehose writes to S3
- ``drift``: input drift (PSI) against the training data; ``dashboard``: the HTML report and
  PNG charts; ``commands``: ``mlops analytics refresh`` and ``mlops dashboard``
- ``seed``, ``simulate``: seeded runs and simulated events that fill a warehouse locally
"""
