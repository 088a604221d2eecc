-- Investigate rate per month and region (handler capacity: keep it under ~15-25%).
SELECT
  CAST(DATE_TRUNC('MONTH', d.decided_at) AS DATE) AS month_start,
  d.region AS region,
  COUNT(*) AS decisions,
  SUM(CASE WHEN d.recommendation = 'investigate' THEN 1 ELSE 0 END) AS investigations,
  AVG(CASE WHEN d.recommendation = 'investigate' THEN 1.0 ELSE 0.0 END) AS investigate_rate
FROM decision_events AS d
GROUP BY 1, 2
