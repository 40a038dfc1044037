-- One row per scored principal of the assessments in scope, with every column the principals
-- list shows and the filter language can name (api/filter/fields.ts maps fields to these).
-- {{scope}} lists bound assessment ids. row_id lets a page fetch its wide columns late.
SELECT l.*, l.rowid AS row_id
FROM principal_list l
WHERE l.assessment_id IN ({{scope}})
