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

-- Every meetmax_status a registration had before it was replaced (by meetmax-sync, by the
-- original scripts' text being overwritten, or by an operator), kept beside the sync record.
CREATE TABLE integration.meetmax_status_history (
    id bigserial PRIMARY KEY,
    registration_id text NOT NULL,
    status text NOT NULL,
    replaced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetmax_status_history_registration ON integration.meetmax_status_history (registration_id, id);

CREATE FUNCTION integration.keep_meetmax_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO integration.meetmax_status_history (registration_id, status)
    VALUES (OLD.registration_id, OLD.meetmax_status);
    RETURN NEW;
END
$$;

CREATE TRIGGER keep_meetmax_status
    AFTER UPDATE OF meetmax_status ON conferences_events.exchange_registration
    FOR EACH ROW
    WHEN (OLD.meetmax_status IS NOT NULL AND OLD.meetmax_status IS DISTINCT FROM NEW.meetmax_status
          AND OLD.registration_id IS NOT NULL)
    EXECUTE FUNCTION integration.keep_meetmax_status();
