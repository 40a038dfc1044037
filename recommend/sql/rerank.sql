-- Rank each principal's open recommendations: severity first, then the risk the best option
-- takes away, then age; 1 is shown first. Recommendations that are not open have rank 0.
UPDATE recommendation SET rank = ranked.new_rank
FROM (
  SELECT recommendation_id,
         CASE WHEN state = 'open' THEN row_number() OVER (
           PARTITION BY integration_id, principal_id, state = 'open'
           ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                    coalesce(TRY_CAST(json_extract(proof, '$.riskReduction') AS DOUBLE), 0) DESC,
                    created_at, recommendation_id)
         ELSE 0 END AS new_rank
  FROM recommendation
  WHERE integration_id = $integration_id AND ($principal_id IS NULL OR principal_id = $principal_id)
) ranked
WHERE recommendation.recommendation_id = ranked.recommendation_id
  AND recommendation.rank IS DISTINCT FROM ranked.new_rank;
