-- Hardening (issue 8): which version of a submission a registration holds and which form owns
-- it, raw rows that a newer version superseded, resumable full resyncs, and outbox entries
-- claimed by a lease instead of a row lock held across the SQS send.

-- The version of each registration: its form (a registration never changes form) and the raw
-- submission it was last written from. An older version never replaces a newer one, in
-- receipt order: the raw row's `received_at` (for a pulled record, when its page was fetched),
-- then its id. Formstack's own `timestamp` is the submission's creation time, kept when a
-- submission is edited, so it is the same for every version and cannot order them.
CREATE TABLE integration.registration_version (
    registration_id text PRIMARY KEY,
    form_id text NOT NULL,
    raw_id bigint NOT NULL,
    received_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Registrations that exist already (the original scripts' rows included) keep their form; any
-- version received from now on is newer than what they hold.
INSERT INTO integration.registration_version (registration_id, form_id, raw_id, received_at)
SELECT registration_id, form_id, 0, '-infinity'
  FROM conferences_events.exchange_registration
 WHERE registration_id IS NOT NULL AND form_id IS NOT NULL
ON CONFLICT DO NOTHING;

-- `superseded`: stored and readable, but a newer version of the submission was already applied.
ALTER TABLE integration.raw_submission DROP CONSTRAINT raw_submission_mapping_status_check;
ALTER TABLE integration.raw_submission ADD CONSTRAINT raw_submission_mapping_status_check
    CHECK (mapping_status IN ('pending', 'mapped', 'error', 'superseded'));

-- The nightly full resync as a resumable scan: the next page to read, when the scan began and
-- when the last one covered the whole form.
ALTER TABLE integration.pull_cursor
    ADD COLUMN resync_next_page integer,
    ADD COLUMN resync_started_at timestamptz,
    ADD COLUMN resync_completed_at timestamptz,
    ADD COLUMN resync_scans integer NOT NULL DEFAULT 0;

-- Outbox entries are claimed for a short lease (committed at once), sent, then marked sent by
-- their claimant: no lock is held while SQS is called.
ALTER TABLE integration.outbox
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claimed_by uuid;

-- MeetMax's attendee/list has no paging: a list that returns `list_limit` results (or more) is
-- taken as truncated, so an absent record is looked up by its own key before it is added.
ALTER TABLE integration.meetmax_account
    ADD COLUMN list_limit integer NOT NULL DEFAULT 1000 CHECK (list_limit > 0);
