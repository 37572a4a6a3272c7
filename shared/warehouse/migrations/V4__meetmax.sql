-- meetmax-sync: per-event configuration instead of hard-coded ids, a configuration-driven
-- exchange_meetmax view, and the sync's own state (intent, lease, outcome, last-sent fields).

-- A MeetMax account: where its API is and how fast it may be called.
CREATE TABLE integration.meetmax_account (
    name text PRIMARY KEY,
    environment text NOT NULL CHECK (environment IN ('production', 'staging', 'sandbox')),
    base_url text NOT NULL,                  -- https://meetmax.com, https://staging.meetmax.com, or the sandbox
    secret_id text NOT NULL,                 -- Secrets Manager: {"consumer_key": …, "consumer_secret": …}
    rate_per_second double precision NOT NULL DEFAULT 2 CHECK (rate_per_second > 0),
    concurrency integer NOT NULL DEFAULT 2 CHECK (concurrency > 0),
    description text
);

-- A MeetMax event fed by one registration form.
CREATE TABLE integration.meetmax_event (
    form_id text PRIMARY KEY,
    account text NOT NULL REFERENCES integration.meetmax_account (name),
    event_id text NOT NULL,                  -- MeetMax's numeric event id
    enabled boolean NOT NULL DEFAULT true,
    company_role text NOT NULL,              -- attendee_role_id of company entities
    company_first text NOT NULL DEFAULT 'Management',
    company_last text NOT NULL DEFAULT 'Team',
    receive_request_yes text[] NOT NULL DEFAULT '{Yes}',  -- one-on-one answers sent as receive_request=Y
    locale_remove text NOT NULL DEFAULT ' Time',          -- removed from the time-zone answer
    meetings_constant integer,               -- when set, sent instead of the registration's meetings
    -- purpose → custom field id; purposes: profile, headshot, industries, other_industries,
    -- meetings, locale, registration_status, registration_type
    custom_fields jsonb NOT NULL DEFAULT '{}',
    password_secret_id text,                 -- optional: {"password": …} sent with each attendee add
    description text
);

-- Registration type → MeetMax role, group and where the company name comes from.
CREATE TABLE integration.meetmax_role_rule (
    form_id text NOT NULL REFERENCES integration.meetmax_event (form_id) ON DELETE CASCADE,
    registration_type text NOT NULL,         -- the exact label, or '*' for every other type (and NULL)
    attendee_role text NOT NULL,
    group_name text,
    company_source text NOT NULL CHECK (company_source IN ('clean', 'state', 'typed')),
    company_entity boolean NOT NULL DEFAULT false,  -- the company is a MeetMax entity, created first
    send boolean NOT NULL DEFAULT true,      -- false: registrations of this type stay out of MeetMax
    PRIMARY KEY (form_id, registration_type)
);

-- Every registration with its MeetMax attributes computed from the configuration (the rules of
-- the published exchange_meetmax view, with role, group, receive_request and locale configurable).
CREATE VIEW integration.meetmax_registration AS
SELECT r.id,
       r.registration_id,
       r.form_id,
       r.submitted_at,
       e.account,
       e.event_id AS meetmax_event_id,
       e.enabled AS event_enabled,
       rule.registration_type AS rule_type,
       rule.attendee_role,
       rule.group_name,
       rule.company_source,
       coalesce(rule.company_entity, false) AS company_entity,
       coalesce(rule.send, false) AS rule_send,
       initcap(r.first_name) AS first_name,
       initcap(r.last_name) AS last_name,
       CASE rule.company_source
           WHEN 'state' THEN st.full_name
           WHEN 'clean' THEN org.clean_organization
           ELSE nullif(btrim(r.organization), '')
       END AS company,
       r.organization,
       org.reviewed AS organization_reviewed,
       coalesce(r.state_organization, r.address_state) AS state_key,
       r.title,
       lower(btrim(r.email)) AS email,
       r.phone,
       r.registration_type,
       CASE WHEN r.one_one = ANY (coalesce(e.receive_request_yes, '{Yes}')) THEN 'Y' ELSE 'N' END AS receive_request,
       replace(r.time_zone, coalesce(e.locale_remove, ' Time'), '') AS locale,
       r.profile,
       r.headshot,
       -- one label per line, commas removed, blank lines dropped, joined with '|'
       nullif(array_to_string(ARRAY(
           SELECT btrim(label)
             FROM regexp_split_to_table(replace(r.industries, ',', ''), '[\r\n]+') AS label
            WHERE btrim(label) <> ''), '|'), '') AS industries,
       r.other_industries,
       coalesce(e.meetings_constant, r.meetings) AS meetings,
       r.approval_status,
       r.registration_status,
       (r.approval_status = 'Approved' AND r.registration_status = 'Active') AS approved_active,
       r.created_at,
       r.updated_at,
       r.meetmax_id,
       r.meetmax_status,
       r.rollover
  FROM conferences_events.exchange_registration r
  LEFT JOIN integration.meetmax_event e ON e.form_id = r.form_id
  LEFT JOIN LATERAL (
        SELECT x.* FROM integration.meetmax_role_rule x
         WHERE x.form_id = r.form_id AND (x.registration_type = r.registration_type OR x.registration_type = '*')
         ORDER BY x.registration_type = '*'
         LIMIT 1) rule ON true
  LEFT JOIN LATERAL (
        SELECT s.full_name FROM conferences_events.states s
         WHERE s.name::text = coalesce(r.state_organization, r.address_state)
         ORDER BY s.id LIMIT 1) st ON true
  LEFT JOIN LATERAL (
        SELECT o.clean_organization, o.reviewed FROM conferences_events.exchange_organizations o
         WHERE o.original_organization = r.organization
         ORDER BY o.reviewed DESC NULLS LAST, o.id LIMIT 1) org ON true;

-- The operators' view keeps its name and its 24 columns, now driven by the configuration.
-- CREATE OR REPLACE keeps grants and fails loudly if an existing definition has other columns.
CREATE OR REPLACE VIEW conferences_events.exchange_meetmax AS
SELECT id, registration_id, submitted_at, first_name, last_name, company, title, email, phone,
       registration_type, attendee_role AS attendee_role_id, group_name, receive_request, locale,
       profile, headshot, industries, other_industries, created_at, updated_at, meetmax_id,
       meetmax_status, rollover, meetings
  FROM integration.meetmax_registration
 WHERE approval_status = 'Approved' AND registration_status = 'Active';

-- One row per company entity of an event: its MeetMax id, or the add in flight (intent and lease).
CREATE TABLE integration.meetmax_company (
    meetmax_event_id text NOT NULL,
    company text NOT NULL,
    meetmax_id text,
    adopted boolean NOT NULL DEFAULT false,  -- found in MeetMax rather than added by us
    intent_at timestamptz,                   -- an add was sent and its outcome is unknown
    lease_until timestamptz,
    lease_owner uuid,
    attempts integer NOT NULL DEFAULT 0,
    error_class text,
    error text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meetmax_event_id, company)
);

-- One row per registration the sync has handled.
CREATE TABLE integration.meetmax_sync (
    registration_id text PRIMARY KEY,
    meetmax_event_id text,
    meetmax_id text,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'synced', 'failed', 'ineligible')),
    adopted boolean NOT NULL DEFAULT false,  -- found in MeetMax (lookup after an unknown outcome)
    intent_at timestamptz,                   -- an add was sent and its outcome is unknown
    lease_until timestamptz,
    lease_owner uuid,
    attempts integer NOT NULL DEFAULT 0,
    error_class text,                        -- transient | permanent | auth | ineligible
    error text,
    failed_fields jsonb,                     -- the fields of the failed request (retry when they change)
    sent_fields jsonb NOT NULL DEFAULT '{}', -- what MeetMax holds as far as we know (edits diff against it)
    edits integer NOT NULL DEFAULT 0,
    synced_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetmax_sync_state ON integration.meetmax_sync (state);
