-- Lenos (issue 10): the agenda's locations and session tags, in the target tables' one shape,
-- and the two-way session registration's request and attempt records.

CREATE FUNCTION connector.create_target(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($f$
        CREATE TABLE connector.%I (
            connection text NOT NULL REFERENCES connector.connection (name) ON UPDATE CASCADE,
            fp_ext_id text NOT NULL,
            fp_status text NOT NULL CHECK (fp_status IN ('active', 'cancelled')),
            raw_status text,
            fields jsonb NOT NULL DEFAULT '{}',
            raw jsonb NOT NULL,
            parent_ext_id text,
            photo_s3_key text,
            first_seen timestamptz NOT NULL DEFAULT now(),
            last_seen timestamptz NOT NULL DEFAULT now(),
            last_changed timestamptz NOT NULL DEFAULT now(),
            changed_by_run uuid NOT NULL,
            removed_at timestamptz,
            removed_by_run uuid,
            PRIMARY KEY (connection, fp_ext_id)
        )$f$, t);
END $$;

SELECT connector.create_target(t) FROM unnest(ARRAY['location', 'session_tag']) AS t;
DROP FUNCTION connector.create_target(text);

-- Event apps allowed to register attendees, and the connection (event) each one speaks for.
-- Their HMAC keys live in Secrets Manager (REGISTER_APP_KEYS_SECRET_ID), never here.
CREATE TABLE connector.register_app (
    app text PRIMARY KEY CHECK (app ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    connection text NOT NULL REFERENCES connector.connection (name) ON UPDATE CASCADE,
    enabled boolean NOT NULL DEFAULT true
);

-- One row per app request id: the answer a repeat gets. Final answers (confirmed, refused)
-- are never asked of Lenos again; try_again and unknown are attempted again on a repeat.
CREATE TABLE connector.register_request (
    app text NOT NULL,
    request_id text NOT NULL,
    connection text NOT NULL,
    person_ext_id text NOT NULL,
    session_ext_id text NOT NULL,
    answer text CHECK (answer IN ('confirmed', 'refused', 'try_again', 'unknown')),
    reason text,
    registration_id text,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    PRIMARY KEY (app, request_id)
);

-- Every attempt: what was asked, what Lenos (or the local check) answered, how long Lenos took.
CREATE TABLE connector.register_attempt (
    id bigserial PRIMARY KEY,
    app text NOT NULL,
    request_id text NOT NULL,
    connection text NOT NULL,
    person_ext_id text NOT NULL,
    session_ext_id text NOT NULL,
    answer text NOT NULL CHECK (answer IN ('confirmed', 'refused', 'try_again', 'unknown')),
    reason text,
    lenos_ms integer,
    total_ms integer,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX register_attempt_request ON connector.register_attempt (app, request_id);
