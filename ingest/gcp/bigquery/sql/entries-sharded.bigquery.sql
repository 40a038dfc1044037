  SELECT timestamp, insertId, resource, protopayload_auditlog, '{{log_type}}' AS log_type
  FROM `{{table}}_*`
  WHERE _TABLE_SUFFIX BETWEEN @start_suffix AND @end_suffix
    AND timestamp >= TIMESTAMP(@start_day) AND timestamp < TIMESTAMP(@end_day)
