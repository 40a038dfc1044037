-- Logs that miss part of a principal's activity: its unseen actions are unobservable, not unused.
ALTER TABLE principal_score ADD COLUMN evidence_gap VARCHAR;
COMMENT ON COLUMN principal_score.evidence_gap IS 'Why the logs cannot show every use by this principal in the window (its account''s logs miss days of its lifetime in the window, or the inventory reports a use in a region the logs do not cover); when set, its granted actions not seen used are unobservable rather than unused. NULL when the logs cover it fully.';
