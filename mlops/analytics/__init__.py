"""Decision analytics: SQL views (one source, two engines), the DuckDB warehouse, dashboards.

- ``views``: the views written once in SQL, translated with sqlglot for DuckDB and Snowflake;
  ``warehouse``: the embedded DuckDB warehouse and its idempotent loader; ``settings``: the
  ``analytics:`` block of a stack's settings
- ``firehose_transform``: the Firehose transformation Lambda (validate, flatten, partition);
  ``records``: decode what Firehose writes to S3
- ``drift``: input drift (PSI) of the features a use case names, against its training data;
  ``dashboard``: the dashboard frame (HTML pages, KPI tiles, chart helpers) a use case's own
  dashboard draws with; ``commands``: ``mlops analytics refresh`` and ``mlops dashboard``
- ``usecase``: a use case's analytics code (events, dashboard), found through its manifest's
  ``analytics:`` entry points; the platform itself knows no use case's events or charts
"""
