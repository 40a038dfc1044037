-- API: the principals page reads prebuilt rows.
-- A page first finds its rows from the narrow columns the filter and the sort need, then reads
-- those rows' list items by row number through an index, as JSON written when the copy is built,
-- so that serving a page is joining strings. Unused privilege levels also get a bit mask, which
-- the filter language tests in one operation instead of searching the list per level.
-- Copies made before this migration lack the new columns: drop them, the next read rebuilds.
DELETE FROM principal_list;
DELETE FROM principal_list_state;
ALTER TABLE principal_list ADD COLUMN item_json VARCHAR;
ALTER TABLE principal_list ADD COLUMN unused_level_mask INTEGER;
CREATE INDEX principal_list_row_no ON principal_list (row_no);
COMMENT ON COLUMN principal_list.item_json IS 'The row as the principals list returns it (JSON object, every field but ignored, which changes without a rebuild and is added when read).';
COMMENT ON COLUMN principal_list.unused_level_mask IS 'unused_levels as bits: LIST 1, READ 2, TAGGING 4, WRITE 8, IAM 16, ADMIN 32 (the order of PRIVILEGE_LEVELS in api/filter/fields.ts).';
