-- The current view: the latest finished (succeeded or partial) assessment of each integration.
-- A running assessment is never current, so readers never see half-written rows.
SELECT assessment_id, integration_id, status, started_at, finished_at
FROM (
  SELECT assessment_id, integration_id, status, started_at, finished_at,
    row_number() OVER (PARTITION BY integration_id ORDER BY started_at DESC, assessment_id DESC) AS rn
  FROM assessment
  WHERE status IN ('succeeded', 'partial')
)
WHERE rn = 1
ORDER BY integration_id
