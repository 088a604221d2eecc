"""Decision analytics: SQL views (one source, two engines), the DuckDB warehouse, dashboards."""
