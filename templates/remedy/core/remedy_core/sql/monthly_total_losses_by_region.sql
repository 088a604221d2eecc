-- Monthly total losses (write-off recommendations) by region, with the write-off rate.
SELECT
  CAST(DATE_TRUNC('MONTH', d.decided_at) AS DATE) AS month_start,
  d.region AS region,
  COUNT(*) AS decisions,
  SUM(CASE WHEN d.recommendation = 'write_off' THEN 1 ELSE 0 END) AS total_losses,
  AVG(CASE WHEN d.recommendation = 'write_off' THEN 1.0 ELSE 0.0 END) AS total_loss_rate,
  AVG(CASE WHEN d.recommendation = 'write_off' THEN d.pav_used END) AS avg_pav_total_losses
FROM decision_events AS d
GROUP BY 1, 2
