-- Cycle time from decision to claim closure, in days, by final path and month of closure.
SELECT
  CAST(DATE_TRUNC('MONTH', o.closed_at) AS DATE) AS month_start,
  o.final_path AS final_path,
  COUNT(*) AS claims,
  AVG(TIMESTAMP_DIFF(o.closed_at, d.decided_at, HOUR) / 24.0) AS avg_cycle_days,
  MAX(TIMESTAMP_DIFF(o.closed_at, d.decided_at, HOUR) / 24.0) AS max_cycle_days,
  AVG(o.hire_days) AS avg_hire_days
FROM claim_outcomes AS o
JOIN decision_events AS d
  ON d.claim_id_hash = o.claim_id_hash
GROUP BY 1, 2
