-- The platform's own state: configuration, raw inbound submissions, cursors, budgets,
-- run records and the transactional outbox.
CREATE SCHEMA IF NOT EXISTS integration;

-- Which Formstack form feeds which flow, and how its naive timestamps are to be read.
CREATE TABLE integration.form_config (
    form_id text PRIMARY KEY,
    flow text NOT NULL DEFAULT 'registration' CHECK (flow IN ('registration')),
    enabled boolean NOT NULL DEFAULT true,
    pull_enabled boolean NOT NULL DEFAULT true,
    time_zone text NOT NULL DEFAULT 'America/New_York',
    description text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Formstack field id (and sub-field of a compound field) -> exchange_registration column.
-- Several rows may feed one column: the first non-blank value (by position) wins.
CREATE TABLE integration.form_field_map (
    form_id text NOT NULL REFERENCES integration.form_config (form_id) ON DELETE CASCADE,
    field_id text NOT NULL,
    subfield text NOT NULL DEFAULT '',
    target_column text NOT NULL,
    required boolean NOT NULL DEFAULT false,
    position integer NOT NULL DEFAULT 0,
    PRIMARY KEY (form_id, field_id, subfield, target_column)
);

-- Every inbound submission, stored before it is interpreted. One row per distinct body of a
-- submission: a replayed webhook or an overlapping pull of an unchanged submission adds nothing.
CREATE TABLE integration.raw_submission (
    id bigserial PRIMARY KEY,
    form_id text NOT NULL,
    submission_id text NOT NULL,
    source text NOT NULL CHECK (source IN ('webhook', 'pull')),
    content_type text,
    raw_body bytea NOT NULL,
    body_sha256 bytea NOT NULL,
    -- the submission as read from a webhook body; NULL for pulled rows, whose raw body is
    -- already the record's JSON (see the view integration.raw_submission_readable)
    parsed jsonb,
    signature_verified boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    run_id uuid,
    mapping_status text NOT NULL DEFAULT 'pending' CHECK (mapping_status IN ('pending', 'mapped', 'error')),
    mapping_error text,
    mapped_at timestamptz,
    UNIQUE (form_id, submission_id, body_sha256)
);
-- Raw submissions for people: the parsed webhook, or the pulled record's JSON.
CREATE VIEW integration.raw_submission_readable AS
SELECT id, form_id, submission_id, source, received_at, mapping_status, mapping_error,
       COALESCE(parsed, CASE WHEN source = 'pull' THEN convert_from(raw_body, 'UTF8')::jsonb END) AS submission
  FROM integration.raw_submission;

CREATE INDEX raw_submission_unmapped ON integration.raw_submission (mapping_status, id)
    WHERE mapping_status <> 'mapped';

-- Incremental pull position per form: the newest submission timestamp committed (naive, in the
-- form's account time zone, as Formstack's min_time expects).
CREATE TABLE integration.pull_cursor (
    form_id text PRIMARY KEY,
    high_water timestamp,
    last_success_at timestamptz,
    last_run_id uuid
);

-- Vendor calls spent per token and UTC day (Formstack allows 14,400 per token per day).
CREATE TABLE integration.api_budget (
    token_key text NOT NULL,
    day date NOT NULL,
    calls integer NOT NULL DEFAULT 0,
    PRIMARY KEY (token_key, day)
);

-- One row per invocation: what was read, written, skipped and failed, and why.
CREATE TABLE integration.run (
    run_id uuid PRIMARY KEY,
    function_name text NOT NULL,
    trigger text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    read_count bigint NOT NULL DEFAULT 0,
    written_count bigint NOT NULL DEFAULT 0,
    skipped_count bigint NOT NULL DEFAULT 0,
    failed_count bigint NOT NULL DEFAULT 0,
    notes jsonb NOT NULL DEFAULT '[]',
    error text
);
CREATE INDEX run_function_started ON integration.run (function_name, started_at DESC);

-- Transactional outbox: messages decided in the same transaction as the rows they announce
-- (one entry per transaction, carrying all its ids), sent to SQS after commit, marked sent
-- afterwards. A crash in between re-sends (at-least-once).
CREATE TABLE integration.outbox (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    record_ids text[] NOT NULL,
    run_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX outbox_unsent ON integration.outbox (kind, id) WHERE sent_at IS NULL;
