-- MeetMax fidelity (issue 13): attendee passwords as an explicit per-event choice, and
-- registrations an operator keeps out of MeetMax (the original scripts skipped them by id).

-- The original scripts always sent a password. An event now names a password secret, or says
-- explicitly that attendees are created without one; meetmax-sync refuses an event with neither.
ALTER TABLE integration.meetmax_event ADD COLUMN no_password boolean NOT NULL DEFAULT false;

-- Registrations never sent to MeetMax, with the operator's reason (shown in meetmax_status as
-- "not sent: excluded: <reason>"). Delete the row to send the registration again.
CREATE TABLE integration.meetmax_exclusion (
    registration_id text PRIMARY KEY,
    reason text NOT NULL CHECK (btrim(reason) <> ''),
    excluded_by text,
    excluded_at timestamptz NOT NULL DEFAULT now()
);
