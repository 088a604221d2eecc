-- Repair-cost model error where the outcome is known (closed repairs): MAE, bias
-- (predicted / actual) and coverage of the 80% interval, by month of decision and bundle.
SELECT
  CAST(DATE_TRUNC('MONTH', d.decided_at) AS DATE) AS month_start,
  d.bundle_version AS bundle_version,
  COUNT(*) AS repairs_closed,
  AVG(ABS(d.repair_cost_p50 - o.actual_repair_cost)) AS mae,
  SUM(d.repair_cost_p50) / SUM(o.actual_repair_cost) AS bias_ratio,
  AVG(CASE
        WHEN o.actual_repair_cost BETWEEN d.repair_cost_p10 AND d.repair_cost_p90 THEN 1.0
        ELSE 0.0
      END) AS interval_coverage_80
FROM decision_events AS d
JOIN claim_outcomes AS o
  ON o.claim_id_hash = d.claim_id_hash
WHERE o.final_path = 'repaired' AND o.actual_repair_cost IS NOT NULL
GROUP BY 1, 2
