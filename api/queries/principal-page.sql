-- One page of the principals list (api/principals.ts). The page's row numbers and the total come
-- from one pass over the narrow columns the filter and the sort need; only then are the page's
-- prebuilt items read, through the row-number index (the CTE is materialised so that the join
-- sees 50 rows, not the filter). Slots: view (principal-view.sql), where (a compiled filter),
-- sort (a whitelisted column), direction (ASC or DESC). Ties go by row number.
WITH page AS MATERIALIZED (
  SELECT q.row_no, {{sort}} AS sort_value, count(*) OVER () AS total
  FROM ({{view}}) q
  WHERE {{where}}
  ORDER BY {{sort}} {{direction}} NULLS LAST, q.row_no ASC
  LIMIT $page_limit OFFSET $page_offset
)
SELECT page.row_no, page.total, l.item_json, l.ignored
FROM page
JOIN principal_list l ON l.row_no = page.row_no
ORDER BY page.sort_value {{direction}} NULLS LAST, page.row_no ASC
