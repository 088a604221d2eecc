-- Handler actions per month of the decision: override and inspection rates among decisions a
-- handler has acted on (UK GDPR Art. 22 human review). The latest action per decision counts.
WITH ranked AS (
  SELECT
    a.decision_event_id,
    a.action,
    ROW_NUMBER() OVER (PARTITION BY a.decision_event_id ORDER BY a.acted_at DESC, a.event_id) AS rn
  FROM handler_actions AS a
)
SELECT
  CAST(DATE_TRUNC('MONTH', d.decided_at) AS DATE) AS month_start,
  d.recommendation AS recommendation,
  COUNT(*) AS actioned,
  SUM(CASE WHEN r.action = 'override' THEN 1 ELSE 0 END) AS overrides,
  AVG(CASE WHEN r.action = 'override' THEN 1.0 ELSE 0.0 END) AS override_rate,
  AVG(CASE WHEN r.action = 'inspect' THEN 1.0 ELSE 0.0 END) AS inspect_rate
FROM decision_events AS d
JOIN ranked AS r
  ON r.decision_event_id = d.event_id AND r.rn = 1
GROUP BY 1, 2
