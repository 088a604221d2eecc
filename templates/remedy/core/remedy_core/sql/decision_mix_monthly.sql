-- Decision mix over time: share of each recommendation per month.
SELECT
  CAST(DATE_TRUNC('MONTH', d.decided_at) AS DATE) AS month_start,
  d.recommendation AS recommendation,
  COUNT(*) AS decisions,
  COUNT(*) * 1.0 / SUM(COUNT(*)) OVER (PARTITION BY CAST(DATE_TRUNC('MONTH', d.decided_at) AS DATE)) AS share
FROM decision_events AS d
GROUP BY 1, 2
