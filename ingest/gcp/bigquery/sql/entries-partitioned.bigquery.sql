  SELECT timestamp, insertId, resource, protopayload_auditlog, '{{log_type}}' AS log_type
  FROM `{{table}}`
  WHERE timestamp >= TIMESTAMP(@start_day) AND timestamp < TIMESTAMP(@end_day)
