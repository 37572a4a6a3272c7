-- company-dedupe: the idempotency key that exchange_organizations lacks, suggestions beside it,
-- operator settings, and the record of registrations released to MeetMax sync.

-- One row per organisation spelling ever inserted into exchange_organizations. Its primary key
-- makes "insert each new name once" safe under duplicate and concurrent deliveries, without a
-- unique index on exchange_organizations (which production duplicates could refuse).
CREATE TABLE integration.organization_name (
    original_organization text PRIMARY KEY,
    exchange_organization_id integer,
    name_key text,
    suggested_clean text,
    suggestion_score double precision,
    suggestion_exact boolean,
    alternatives jsonb NOT NULL DEFAULT '[]',
    auto_approved boolean NOT NULL DEFAULT false,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    suggested_at timestamptz
);

-- Spellings already in the mapping table are never inserted again.
INSERT INTO integration.organization_name (original_organization, exchange_organization_id)
SELECT DISTINCT ON (original_organization) original_organization, id
  FROM conferences_events.exchange_organizations
 WHERE original_organization IS NOT NULL AND btrim(original_organization) <> ''
 ORDER BY original_organization, id
ON CONFLICT DO NOTHING;

-- Operator settings (edit with SQL).
CREATE TABLE integration.setting (
    name text PRIMARY KEY,
    value text NOT NULL,
    description text
);
INSERT INTO integration.setting (name, value, description) VALUES
    ('dedupe.auto_approve_exact', 'false',
     'true: a new organisation name whose normalised key equals a reviewed clean name''s key is approved automatically');

-- Registrations released to MeetMax sync (approved, active, organisation reviewed).
CREATE TABLE integration.meetmax_release (
    registration_id text PRIMARY KEY,
    released_at timestamptz NOT NULL DEFAULT now(),
    run_id uuid
);

-- Lookups by organisation name (new-name detection, the gate, the review workbook's counts).
-- Plain indexes: safe on a production table that may hold duplicate spellings.
CREATE INDEX IF NOT EXISTS exchange_organizations_original
    ON conferences_events.exchange_organizations (original_organization);
CREATE INDEX IF NOT EXISTS exchange_registration_organization
    ON conferences_events.exchange_registration (organization);
