-- Overprivilege over the 7 UTC days ending $trend_end, one point per day: the last finished
-- assessment of each integration in scope started that day, averaged over its principals that
-- are not currently ignored. Days without an assessment give a point with null values.
-- {{integrations}} is a list of bound placeholders for integration ids.
WITH days AS (
  SELECT CAST($trend_end AS DATE) - CAST(i AS INTEGER) AS day FROM range(0, 7) t(i)
),
last_of_day AS (
  SELECT assessment_id, integration_id, CAST(started_at AS DATE) AS day,
    row_number() OVER (
      PARTITION BY integration_id, CAST(started_at AS DATE)
      ORDER BY started_at DESC, assessment_id DESC
    ) AS rn
  FROM assessment
  WHERE status IN ('succeeded', 'partial')
    AND integration_id IN ({{integrations}})
    AND CAST(started_at AS DATE) BETWEEN CAST($trend_end AS DATE) - 6 AND CAST($trend_end AS DATE)
),
scores AS (
  SELECT ps.assessment_id, ps.overprivilege_pct, ps.high_risk_overprivilege_pct
  FROM principal_score ps
  WHERE ps.assessment_id IN (SELECT assessment_id FROM last_of_day WHERE rn = 1)
    -- Semi-joins against the few active rules; a correlated lookup per row costs far more.
    AND ps.principal_id NOT IN (
      SELECT principal_id FROM ignore_rule
      WHERE integration_id IS NULL AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())
    )
    AND ps.principal_id || chr(0) || ps.integration_id NOT IN (
      SELECT principal_id || chr(0) || integration_id FROM ignore_rule
      WHERE integration_id IS NOT NULL AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())
    )
)
SELECT
  CAST(d.day AS VARCHAR) AS day,
  list(DISTINCT l.assessment_id ORDER BY l.assessment_id) FILTER (WHERE l.assessment_id IS NOT NULL) AS assessments,
  avg(s.overprivilege_pct) AS all_pct,
  count(s.overprivilege_pct) AS all_principals,
  avg(s.high_risk_overprivilege_pct) AS privileged_pct,
  count(s.high_risk_overprivilege_pct) AS privileged_principals
FROM days d
LEFT JOIN last_of_day l ON l.day = d.day AND l.rn = 1
LEFT JOIN scores s ON s.assessment_id = l.assessment_id
GROUP BY d.day
ORDER BY d.day
