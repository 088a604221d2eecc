-- Model quality against claim outcomes, by month of decision (closed claims only): repair-cost
-- error against the final cost (MAE and bias of the expected final cost, first estimate p50 x
-- (1 + expected supplement rate); coverage of the 80% interval), PAV error against the
-- settlement, wrong write-offs (recommended write-off, repaired in the end) and the calibration
-- of the total-loss probability (expected calibration error over ten bins).
WITH joined AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', d.decided_at) AS DATE) AS month_start,
    d.recommendation AS recommendation,
    d.repair_cost_p10 AS repair_cost_p10,
    d.repair_cost_p50 * (1 + COALESCE(d.supplement_rate, 0)) AS expected_final_cost,
    d.repair_cost_p90 AS repair_cost_p90,
    d.pav_used AS pav_used,
    d.total_loss_prob AS total_loss_prob,
    o.final_path AS final_path,
    o.actual_repair_cost AS actual_repair_cost,
    o.settlement_amount AS settlement_amount
  FROM decision_events AS d
  JOIN claim_outcomes AS o
    ON o.claim_id_hash = d.claim_id_hash
  WHERE o.final_path IN ('repaired', 'written_off')
),
quality AS (
  SELECT
    month_start,
    COUNT(*) AS outcomes,
    SUM(CASE WHEN final_path = 'repaired' AND actual_repair_cost IS NOT NULL THEN 1 ELSE 0 END)
      AS repairs_closed,
    AVG(CASE WHEN final_path = 'repaired' THEN ABS(expected_final_cost - actual_repair_cost) END)
      AS repair_mae,
    SUM(CASE WHEN final_path = 'repaired' THEN expected_final_cost END)
      / SUM(CASE WHEN final_path = 'repaired' THEN actual_repair_cost END) AS repair_bias_ratio,
    AVG(CASE
          WHEN final_path <> 'repaired' OR actual_repair_cost IS NULL THEN NULL
          WHEN actual_repair_cost BETWEEN repair_cost_p10 AND repair_cost_p90 THEN 1.0
          ELSE 0.0
        END) AS interval_coverage_80,
    SUM(CASE WHEN final_path = 'written_off' AND settlement_amount > 0 THEN 1 ELSE 0 END)
      AS write_offs_closed,
    AVG(CASE
          WHEN final_path = 'written_off' AND settlement_amount > 0
          THEN ABS(pav_used - settlement_amount) / settlement_amount
        END) AS pav_abs_pct_error,
    AVG(CASE
          WHEN final_path <> 'written_off' OR NOT settlement_amount > 0 THEN NULL
          WHEN ABS(pav_used - settlement_amount) <= 0.1 * settlement_amount THEN 1.0
          ELSE 0.0
        END) AS pav_within_10pct,
    SUM(CASE WHEN recommendation = 'write_off' AND final_path = 'repaired' THEN 1 ELSE 0 END)
      AS wrong_write_offs,
    AVG(CASE WHEN recommendation = 'write_off' AND final_path = 'repaired' THEN 1.0 ELSE 0.0 END)
      AS wrong_write_off_rate
  FROM joined
  GROUP BY month_start
),
bins AS (
  SELECT
    month_start,
    LEAST(CAST(FLOOR(total_loss_prob * 10) AS INT), 9) AS bin,
    COUNT(*) AS n,
    AVG(total_loss_prob) AS mean_prob,
    AVG(CASE WHEN final_path = 'written_off' THEN 1.0 ELSE 0.0 END) AS mean_outcome
  FROM joined
  WHERE total_loss_prob IS NOT NULL
  GROUP BY month_start, LEAST(CAST(FLOOR(total_loss_prob * 10) AS INT), 9)
),
calibration AS (
  SELECT month_start, SUM(n * ABS(mean_prob - mean_outcome)) / SUM(n) AS total_loss_ece
  FROM bins
  GROUP BY month_start
)
SELECT
  q.month_start AS month_start,
  q.outcomes AS outcomes,
  q.repairs_closed AS repairs_closed,
  q.repair_mae AS repair_mae,
  q.repair_bias_ratio AS repair_bias_ratio,
  q.interval_coverage_80 AS interval_coverage_80,
  q.write_offs_closed AS write_offs_closed,
  q.pav_abs_pct_error AS pav_abs_pct_error,
  q.pav_within_10pct AS pav_within_10pct,
  q.wrong_write_offs AS wrong_write_offs,
  q.wrong_write_off_rate AS wrong_write_off_rate,
  c.total_loss_ece AS total_loss_ece
FROM quality AS q
LEFT JOIN calibration AS c
  ON c.month_start = q.month_start
