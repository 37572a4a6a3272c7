-- spreadsheet-export (issue 12), after review:
-- * a report's leads are those *stored* before its end: a Formstack lead dated by its
--   submission time but stored after a report ran (a late pull, a webhook retry) is in the next
--   report instead of being lost to the "since the previous report" window;
-- * a report records where it really ended (its cut-off, or the moment it read the leads if
--   that came first) and when it was completed, kept apart from its status (a re-plan or a
--   failed re-run resets the status, never these);
-- * a worker's claim has a token: a worker whose claim lapsed cannot overwrite the result.
ALTER TABLE leads.lead ADD COLUMN stored_at timestamptz;
UPDATE leads.lead SET stored_at = received_at;
ALTER TABLE leads.lead ALTER COLUMN stored_at SET DEFAULT clock_timestamp();
ALTER TABLE leads.lead ALTER COLUMN stored_at SET NOT NULL;

ALTER TABLE leads.export
    ADD COLUMN through timestamptz,
    ADD COLUMN completed_at timestamptz,
    ADD COLUMN claim_id uuid;
UPDATE leads.export SET through = cutoff, completed_at = updated_at WHERE status = 'done';
