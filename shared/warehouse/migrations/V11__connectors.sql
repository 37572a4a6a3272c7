-- connector-pull: connections and their streams as data, the pull state, the shared pacing
-- budget, and the target tables (schema `connector`). See shared/connectors/README.md.

CREATE SCHEMA IF NOT EXISTS connector;

-- One provider account × event. Credentials live in Secrets Manager (secret_id); settings hold
-- what operators tune: active_statuses, ConcurrentSessionsTitle, look_back_hours,
-- event_time_zone, page_limit, photo_field (see the README for every key).
CREATE TABLE connector.connection (
    name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]*$'),
    provider text NOT NULL,
    secret_id text NOT NULL,
    settings jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One stream of a connection: its mapping (target field → provider field), the remove-outdated
-- flag and guard, the cursor of the last successful pull, and the state of a pull under way.
CREATE TABLE connector.stream (
    connection text NOT NULL REFERENCES connector.connection (name) ON UPDATE CASCADE,
    stream text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    mapping jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(mapping) = 'object'),
    remove_outdated boolean NOT NULL DEFAULT false,
    removal_max_share numeric NOT NULL DEFAULT 0.10 CHECK (removal_max_share >= 0 AND removal_max_share <= 1),
    -- start of the last successful pull (incremental streams re-read from here minus the look-back)
    cursor_at timestamptz,
    last_full_pull_at timestamptz,
    -- next pull reads everything (operator command or first pull)
    full_requested boolean NOT NULL DEFAULT false,
    -- the pull under way: run, mode, page position and counts so far (NULL when idle)
    pull jsonb,
    lease_until timestamptz,
    last_run_id uuid,
    last_error text,
    PRIMARY KEY (connection, stream)
);

-- Shared pacing per provider account: the earliest time of the account's next request (GCRA).
CREATE TABLE connector.pacing (
    account text PRIMARY KEY,
    next_at timestamptz NOT NULL
);

-- One record per stream pull (a pull may span several invocations).
CREATE TABLE connector.stream_run (
    run_id uuid PRIMARY KEY,
    connection text NOT NULL,
    stream text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('incremental', 'full')),
    trigger text NOT NULL,
    since timestamptz,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    invocations integer NOT NULL DEFAULT 0,
    requests bigint NOT NULL DEFAULT 0,
    read_count bigint NOT NULL DEFAULT 0,
    created_count bigint NOT NULL DEFAULT 0,
    updated_count bigint NOT NULL DEFAULT 0,
    unchanged_count bigint NOT NULL DEFAULT 0,
    skipped_count bigint NOT NULL DEFAULT 0,
    removed_count bigint NOT NULL DEFAULT 0,
    failed_count bigint NOT NULL DEFAULT 0,
    -- {"reason": count}
    skipped_reasons jsonb NOT NULL DEFAULT '{}',
    -- rows written to other targets by this pull: {"sponsor": {"created": n, ...}, "schedule": …, "photo": …}
    by_target jsonb NOT NULL DEFAULT '{}',
    notes jsonb NOT NULL DEFAULT '[]',
    removal text,
    error text
);
CREATE INDEX stream_run_by_stream ON connector.stream_run (connection, stream, started_at DESC);

-- Records a pull could not take (no id, refused by the database), stored raw with the reason.
CREATE TABLE connector.rejected (
    id bigserial PRIMARY KEY,
    run_id uuid NOT NULL,
    connection text NOT NULL,
    stream text NOT NULL,
    ext_id text,
    reason text NOT NULL,
    raw jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);

-- A removal the share guard refused: applied only when an operator confirms it.
CREATE TABLE connector.pending_removal (
    connection text NOT NULL,
    stream text NOT NULL,
    run_id uuid NOT NULL,
    pull_started_at timestamptz NOT NULL,
    would_remove bigint NOT NULL,
    of_rows bigint NOT NULL,
    decided_at timestamptz,
    decision text,
    PRIMARY KEY (connection, stream, run_id)
);

-- The target tables share one shape: keyed by (connection, fp_ext_id); fp_status computed
-- (active / cancelled) beside the provider's raw status; the mapped fields; the provider's raw
-- record; first seen / last seen / last changed and the run that last changed the row;
-- removed_at when a complete full pull no longer found it (rows are marked, not deleted).
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

SELECT connector.create_target(t)
  FROM unnest(ARRAY['participant', 'session', 'presenter', 'sponsor', 'sponsor_level', 'schedule']) AS t;
DROP FUNCTION connector.create_target(text);

COMMENT ON COLUMN connector.session.parent_ext_id IS 'the master session of a concurrent session';
COMMENT ON COLUMN connector.schedule.parent_ext_id IS 'the participant';
ALTER TABLE connector.session ADD COLUMN is_master boolean NOT NULL DEFAULT false;

-- Photos stored in S3, one per (connection, owner): fetched only when new or changed.
CREATE TABLE connector.photo (
    connection text NOT NULL REFERENCES connector.connection (name) ON UPDATE CASCADE,
    fp_ext_id text NOT NULL, -- '<stream>/<owner id>'
    source_url text NOT NULL,
    sha256 text NOT NULL,
    content_type text,
    bytes bigint NOT NULL,
    s3_key text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_changed timestamptz NOT NULL DEFAULT now(),
    changed_by_run uuid NOT NULL,
    PRIMARY KEY (connection, fp_ext_id)
);

-- Readable views: the mapped fields as columns, live rows only.
CREATE VIEW connector.participants AS
SELECT connection, fp_ext_id, fp_status, raw_status, fields ->> 'first_name' AS first_name,
       fields ->> 'last_name' AS last_name, fields ->> 'email' AS email, fields ->> 'company' AS company,
       fields ->> 'title' AS title, photo_s3_key, fields, last_changed
  FROM connector.participant WHERE removed_at IS NULL;

CREATE VIEW connector.sessions AS
SELECT connection, fp_ext_id, fp_status, fields ->> 'title' AS title,
       (fields ->> 'starts_at')::timestamptz AS starts_at, (fields ->> 'ends_at')::timestamptz AS ends_at,
       fields ->> 'in_slot' AS in_slot, is_master, parent_ext_id AS master_ext_id, fields, last_changed
  FROM connector.session WHERE removed_at IS NULL;
