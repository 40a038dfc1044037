-- PLACEHOLDER on branch wip-api only: migration 002 belongs to another branch (the action
-- catalog). The loader refuses gaps, so this empty file stands in for it until the merge.
-- DELETE THIS FILE when merging wip-api (keep the real 002).
SELECT 1;
