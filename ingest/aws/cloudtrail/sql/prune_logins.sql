-- Keep only the last 5 logins per principal and identity.
DELETE FROM identity_login
WHERE rowid IN (
  SELECT rowid FROM identity_login
  WHERE integration_id = $integration_id
  QUALIFY row_number() OVER (PARTITION BY principal_id, identity ORDER BY login_at DESC, event_name) > 5
)
