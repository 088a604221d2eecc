-- Average repair cost by manufacturer and model: the predicted first estimate (p50) for claims
-- recommended for repair, and the actual cost paid where the repair has closed.
SELECT
  d.make AS make,
  d.model AS model,
  COUNT(*) AS repairs,
  AVG(d.repair_cost_p50) AS avg_predicted_repair_cost,
  COUNT(o.actual_repair_cost) AS repairs_closed,
  AVG(o.actual_repair_cost) AS avg_actual_repair_cost
FROM decision_events AS d
LEFT JOIN claim_outcomes AS o
  ON o.claim_id_hash = d.claim_id_hash AND o.final_path = 'repaired'
WHERE d.recommendation = 'repair'
GROUP BY 1, 2
