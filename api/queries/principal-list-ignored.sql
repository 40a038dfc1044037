-- Bring principal_list.ignored in line with the active ignore rules, writing only the rows
-- whose flag changes. A rule without integration applies to every integration.
UPDATE principal_list SET ignored = NOT ignored
WHERE ignored <> (
  principal_id IN (
    SELECT principal_id FROM ignore_rule
    WHERE integration_id IS NULL
      AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  )
  OR principal_id || chr(0) || integration_id IN (
    SELECT principal_id || chr(0) || integration_id FROM ignore_rule
    WHERE integration_id IS NOT NULL
      AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  )
)
