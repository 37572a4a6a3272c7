-- The operator console: who may sign in and as what, the sign-ins in flight and the sessions,
-- the append-only audit of every change (made in the console or by SQL on a configuration
-- table), and the registration trail as one view for those who prefer SQL.
CREATE SCHEMA IF NOT EXISTS console;

-- The allow-list: a person (by the e-mail of their ID token) and their role. A role from the
-- issuer's group claim counts too; the higher of the two wins.
CREATE TABLE console.person (
    email text PRIMARY KEY CHECK (email = lower(btrim(email)) AND email LIKE '%@%'),
    role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    added_by text,
    added_at timestamptz NOT NULL DEFAULT now()
);

-- A sign-in in flight: the authorization request's state, its nonce and its PKCE verifier,
-- used once and only for ten minutes.
CREATE TABLE console.login (
    state text PRIMARY KEY,
    nonce text NOT NULL,
    verifier text NOT NULL,
    return_to text NOT NULL DEFAULT '/',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A signed-in session. The cookie carries a random token; only its SHA-256 is stored, so a
-- read of this table signs nobody in. Revoked or expired sessions sign nobody in either.
CREATE TABLE console.session (
    token_sha256 bytea PRIMARY KEY,
    id bigserial UNIQUE,                     -- how an admin names it (revoke)
    email text NOT NULL,
    subject text NOT NULL,
    role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    csrf text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX session_email ON console.session (email);

-- Every change: who, when, what, on what, with which parameters, the row before and after,
-- and the outcome. `source`: console (an action in the console) or sql (a configuration table
-- changed outside it; the trigger below records those).
CREATE TABLE console.audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    source text NOT NULL CHECK (source IN ('console', 'sql')),
    action text NOT NULL,
    target text NOT NULL,
    parameters jsonb NOT NULL DEFAULT '{}',
    before jsonb,
    after jsonb,
    outcome text NOT NULL,
    -- the database user who wrote the row (the console's login for its actions): an actor named
    -- by SQL (`SET console.actor`) can be told from the console's own
    db_user text NOT NULL DEFAULT session_user
);
CREATE INDEX audit_at ON console.audit (at DESC, id DESC);
CREATE INDEX audit_actor ON console.audit (actor, at DESC);
CREATE INDEX audit_action ON console.audit (action, at DESC);
CREATE INDEX audit_target ON console.audit (target text_pattern_ops);

-- Append-only: no row of the audit is ever changed or removed, whoever asks.
CREATE FUNCTION console.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'console.audit is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON console.audit
    FOR EACH ROW EXECUTE FUNCTION console.refuse_audit_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON console.audit
    FOR EACH STATEMENT EXECUTE FUNCTION console.refuse_audit_change();

-- A change to a configuration table, recorded with the row before and after. The console
-- names the person in the transaction (`SET LOCAL console.actor`); any other change is
-- recorded as SQL by the database user who made it.
CREATE FUNCTION console.audit_config_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    person text := nullif(current_setting('console.actor', true), '');
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
BEGIN
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN NULL;
    END IF;
    INSERT INTO console.audit (actor, source, action, target, before, after, outcome)
    VALUES (coalesce(person, session_user::text),
            CASE WHEN person IS NULL THEN 'sql' ELSE 'console' END,
            lower(TG_OP) || ' ' || TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
            TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
            old_row, new_row, 'done');
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'integration.setting', 'integration.form_config', 'integration.form_field_map',
        'integration.form_field_label', 'integration.meetmax_account', 'integration.meetmax_event',
        'integration.meetmax_role_rule', 'integration.meetmax_exclusion',
        'connector.connection', 'connector.stream', 'connector.register_app',
        'leads.client', 'leads.lander', 'leads.integration', 'leads.email_template',
        'leads.export_template', 'leads.export_subscription', 'console.person']
    LOOP
        EXECUTE format('CREATE TRIGGER audit_config AFTER INSERT OR UPDATE OR DELETE ON %s
                        FOR EACH ROW EXECUTE FUNCTION console.audit_config_change()', t);
    END LOOP;
END
$$;

-- A review decision is configuration too, whoever makes it (the console, the workbook, SQL).
CREATE TRIGGER audit_config AFTER UPDATE OF clean_organization, reviewed ON conferences_events.exchange_organizations
    FOR EACH ROW EXECUTE FUNCTION console.audit_config_change();

-- Searches of the registration trail (e-mail, last or first name, company).
CREATE INDEX IF NOT EXISTS exchange_registration_email_lower
    ON conferences_events.exchange_registration (lower(btrim(email)));
CREATE INDEX IF NOT EXISTS exchange_registration_last_name_lower
    ON conferences_events.exchange_registration (lower(last_name) text_pattern_ops);
CREATE INDEX IF NOT EXISTS exchange_registration_first_name_lower
    ON conferences_events.exchange_registration (lower(first_name) text_pattern_ops);
CREATE INDEX IF NOT EXISTS exchange_registration_organization_lower
    ON conferences_events.exchange_registration (lower(organization) text_pattern_ops);
CREATE INDEX IF NOT EXISTS raw_submission_submission ON integration.raw_submission (submission_id);
CREATE INDEX IF NOT EXISTS run_started ON integration.run (started_at DESC);
CREATE INDEX IF NOT EXISTS stream_run_started ON connector.stream_run (started_at DESC);
CREATE INDEX IF NOT EXISTS exchange_organizations_unreviewed
    ON conferences_events.exchange_organizations (id) WHERE reviewed IS NOT TRUE;

-- Where each registration stands on its way to MeetMax, and why: one row per registration.
-- `standing` is one of in_meetmax, excluded, no_event, event_disabled, not_approved,
-- type_not_sent, no_company, awaiting_review, awaiting_gate, failed, ineligible, queued;
-- `reason` says it in words. The console's registration trail reads this view.
-- The role rule is chosen as integration.meetmax_registration chooses it (V9: for the type, then
-- for '*'; a matching conditional rule before the unconditional one, then by priority), and
-- "organisation reviewed" is what the gate reads (a reviewed row of that spelling). They are
-- written as joins a count over every registration can hash (the unconditional rules), with a
-- lookup per registration only into the conditional rules.
CREATE VIEW console.registration_trail AS
SELECT r.registration_id,
       r.id AS row_id,
       r.form_id,
       initcap(r.first_name) AS first_name,
       initcap(r.last_name) AS last_name,
       lower(btrim(r.email)) AS email,
       r.organization,
       org.reviewed AS organization_reviewed,
       r.approval_status,
       r.registration_status,
       r.registration_type,
       e.event_id AS meetmax_event_id,
       r.meetmax_status,
       v.raw_id,
       v.received_at AS version_received_at,
       rel.released_at,
       rel.run_id AS release_run_id,
       s.state AS sync_state,
       coalesce(s.meetmax_id, r.meetmax_id) AS meetmax_id,
       s.attempts AS sync_attempts,
       s.error_class AS sync_error_class,
       s.error AS sync_error,
       s.synced_at,
       s.updated_at AS sync_updated_at,
       x.reason AS exclusion_reason,
       x.excluded_by,
       st.standing,
       CASE st.standing
           WHEN 'in_meetmax' THEN 'in MeetMax as ' || coalesce(s.meetmax_id, r.meetmax_id, '?')
                                  || coalesce('; kept out of further syncs: ' || x.reason, '')
           WHEN 'excluded' THEN 'excluded by ' || coalesce(x.excluded_by, 'an operator') || ': ' || x.reason
           WHEN 'no_event' THEN 'form ' || coalesce(r.form_id, '?') || ' feeds no MeetMax event'
           WHEN 'event_disabled' THEN 'MeetMax event ' || e.event_id || ' is disabled'
           WHEN 'not_approved' THEN 'held: approval ' || coalesce(r.approval_status, 'not set')
                                    || ', registration ' || coalesce(r.registration_status, 'not set')
           WHEN 'type_not_sent' THEN 'held: registration type ' || coalesce(r.registration_type, '(none)')
                                     || ' is not sent to MeetMax'
           WHEN 'no_company' THEN 'held: no company was given, and its role takes the reviewed company name'
           WHEN 'awaiting_review' THEN 'held: organisation "' || r.organization || '" awaits review'
           WHEN 'awaiting_gate' THEN 'approved and settled; the next dedupe pass releases it'
           WHEN 'failed' THEN 'failed: ' || coalesce(s.error_class, '') || ': ' || coalesce(s.error, '')
           WHEN 'ineligible' THEN 'not sent: ' || coalesce(s.error, 'ineligible')
           ELSE 'released; waiting for meetmax-sync'
       END AS reason
  FROM conferences_events.exchange_registration r
  LEFT JOIN integration.meetmax_event e ON e.form_id = r.form_id
  LEFT JOIN integration.meetmax_role_rule exact
         ON exact.form_id = r.form_id AND exact.registration_type = r.registration_type AND exact.condition_column IS NULL
  LEFT JOIN integration.meetmax_role_rule anytype
         ON anytype.form_id = r.form_id AND anytype.registration_type = '*' AND anytype.condition_column IS NULL
  -- A matching conditional rule (V9), looked up only for the registrations of a form that has
  -- one: the condition is per registration, the test for the form a hashed set built once.
  CROSS JOIN LATERAL (SELECT CASE
        WHEN r.form_id IN (SELECT c.form_id FROM integration.meetmax_role_rule c WHERE c.condition_column IS NOT NULL)
        THEN (SELECT x FROM integration.meetmax_role_rule x
               WHERE x.form_id = r.form_id AND (x.registration_type = r.registration_type OR x.registration_type = '*')
                 AND x.condition_column IS NOT NULL
                 AND lower(btrim(to_jsonb(r) ->> x.condition_column))
                     = ANY (SELECT lower(btrim(val)) FROM unnest(x.condition_values) AS val)
               ORDER BY x.registration_type = '*', x.priority
               LIMIT 1)
        END AS rule OFFSET 0) cond
  LEFT JOIN integration.registration_version v ON v.registration_id = r.registration_id
  LEFT JOIN integration.meetmax_release rel ON rel.registration_id = r.registration_id
  LEFT JOIN integration.meetmax_sync s ON s.registration_id = r.registration_id
  LEFT JOIN integration.meetmax_exclusion x ON x.registration_id = r.registration_id
 CROSS JOIN LATERAL (SELECT
           CASE WHEN (cond.rule).registration_type <> '*' THEN (cond.rule).send
                WHEN exact.rule_id IS NOT NULL THEN exact.send
                WHEN (cond.rule).registration_type IS NOT NULL THEN (cond.rule).send
                ELSE anytype.send END AS send,
           CASE WHEN (cond.rule).registration_type <> '*' THEN (cond.rule).company_source
                WHEN exact.rule_id IS NOT NULL THEN exact.company_source
                WHEN (cond.rule).registration_type IS NOT NULL THEN (cond.rule).company_source
                ELSE anytype.company_source END AS company_source,
           r.organization IN (SELECT o.original_organization FROM conferences_events.exchange_organizations o
                               WHERE o.reviewed) AS reviewed) org
 CROSS JOIN LATERAL (SELECT CASE
           WHEN s.state = 'synced' OR (s.registration_id IS NULL AND nullif(btrim(r.meetmax_id), '') IS NOT NULL)
               THEN 'in_meetmax'
           WHEN x.registration_id IS NOT NULL THEN 'excluded'
           WHEN e.form_id IS NULL THEN 'no_event'
           WHEN NOT e.enabled THEN 'event_disabled'
           WHEN NOT (r.approval_status = 'Approved' AND r.registration_status = 'Active') THEN 'not_approved'
           WHEN NOT coalesce(org.send, false) THEN 'type_not_sent'
           WHEN org.company_source = 'clean' AND btrim(coalesce(r.organization, '')) = '' THEN 'no_company'
           WHEN org.company_source = 'clean' AND org.reviewed IS NOT TRUE THEN 'awaiting_review'
           WHEN rel.registration_id IS NULL THEN 'awaiting_gate'
           WHEN s.state = 'failed' THEN 'failed'
           WHEN s.state = 'ineligible' THEN 'ineligible'
           ELSE 'queued' END AS standing) st;

-- The console's database role: what its pages read and its actions change, nothing more. The
-- console's login user is made a member of it (or connects as it); creating a role needs
-- CREATEROLE, which a migrating user may lack, so a refusal is a notice, not a failure.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'platform_console') THEN
        BEGIN
            CREATE ROLE platform_console NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- roles belong to the server: a database migrated at the same moment made it
        END;
    END IF;
    -- The functions' login (the migrating user) may take the role (DATABASE_ROLE).
    EXECUTE format('GRANT platform_console TO %I', current_user);
    GRANT USAGE ON SCHEMA console, integration, conferences_events, connector, leads TO platform_console;
    -- What the pages read (no lead, no connector record, no credentials table).
    GRANT SELECT ON integration.run, integration.raw_submission, integration.registration_version,
        integration.organization_name, integration.setting, integration.form_config, integration.form_field_map,
        integration.form_field_label, integration.meetmax_event, integration.meetmax_role_rule,
        integration.meetmax_release, integration.meetmax_sync, integration.meetmax_exclusion,
        integration.meetmax_status_history, integration.outbox, integration.pull_cursor,
        conferences_events.exchange_registration, conferences_events.exchange_organizations,
        connector.stream_run, leads.integration, leads.export_subscription, leads.export, leads.delivery,
        leads.lander, leads.lander_field
        TO platform_console;
    GRANT SELECT, INSERT ON console.audit TO platform_console;
    GRANT USAGE ON SEQUENCE console.audit_id_seq TO platform_console;
    GRANT SELECT ON console.person, console.registration_trail TO platform_console;
    GRANT SELECT, INSERT, DELETE ON console.login TO platform_console;
    GRANT SELECT, INSERT, UPDATE ON console.session TO platform_console;
    GRANT USAGE ON SEQUENCE console.session_id_seq TO platform_console;
    -- the admin page: the allow-list
    GRANT INSERT, UPDATE, DELETE ON console.person TO platform_console;
    -- company review, exclusions, a held sync cleared, a resync announced through the outbox
    GRANT UPDATE (clean_organization, reviewed) ON conferences_events.exchange_organizations TO platform_console;
    GRANT INSERT, DELETE ON integration.meetmax_exclusion TO platform_console;
    GRANT UPDATE ON integration.meetmax_sync TO platform_console;
    GRANT INSERT, UPDATE ON integration.outbox TO platform_console;
    -- a dedupe pass after reviews (new names, the gate, the run record)
    GRANT INSERT, UPDATE ON integration.organization_name, integration.meetmax_release, integration.run
        TO platform_console;
    GRANT INSERT ON conferences_events.exchange_organizations TO platform_console;
    -- formstack-intake's remap (stored submissions mapped again into registrations and leads)
    GRANT UPDATE ON integration.raw_submission TO platform_console;
    GRANT INSERT, UPDATE ON conferences_events.exchange_registration, integration.registration_version,
        leads.lead, leads.lander_field, integration.meetmax_status_history TO platform_console;
    -- the sequences of the tables it inserts into, whatever their names (production's may differ)
    EXECUTE (SELECT 'GRANT USAGE ON SEQUENCE ' || string_agg(seq, ', ') || ' TO platform_console'
               FROM (SELECT pg_get_serial_sequence(t, 'id') AS seq
                       FROM unnest(ARRAY['integration.outbox', 'conferences_events.exchange_organizations',
                                         'conferences_events.exchange_registration', 'leads.lead',
                                         'integration.meetmax_status_history']) AS t) q
              WHERE seq IS NOT NULL);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'platform_console role not created or granted: %', SQLERRM;
END
$$;
