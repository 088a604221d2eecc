-- Pre-accident value used in the decision against the settlement actually paid on write-offs
-- (FCA: valuations must not sit systematically below the market).
SELECT
  CAST(DATE_TRUNC('MONTH', o.closed_at) AS DATE) AS month_start,
  d.region AS region,
  COUNT(*) AS settlements,
  AVG(d.pav_used) AS avg_pav_used,
  AVG(o.settlement_amount) AS avg_settlement,
  SUM(o.settlement_amount) / SUM(d.pav_used) AS settlement_to_pav,
  AVG(CASE WHEN o.settlement_amount > d.pav_used THEN 1.0 ELSE 0.0 END) AS share_settled_above_pav
FROM claim_outcomes AS o
JOIN decision_events AS d
  ON d.claim_id_hash = o.claim_id_hash
WHERE o.final_path = 'written_off' AND o.settlement_amount IS NOT NULL
GROUP BY 1, 2
