-- The operator console's second part: connectors, leads and exports operated from its pages.
-- Its role may now read the connector and lead schemas (a lead's timeline, a removal's
-- preview) and make the changes the pipeline's own commands make: credentials stay in Secrets
-- Manager, never in a table.

-- Lead search: by e-mail (any case), by the phone's digits, by day.
CREATE INDEX IF NOT EXISTS lead_email ON leads.lead (lower(email));
CREATE INDEX IF NOT EXISTS lead_phone_digits ON leads.lead (regexp_replace(phone, '\D', '', 'g'));
CREATE INDEX IF NOT EXISTS lead_received ON leads.lead (received_at DESC, id DESC);
-- The review queue counts the approved, active registrations each name holds back: read from
-- this index alone (the registrations' rows are wide).
CREATE INDEX IF NOT EXISTS registration_approved_organization ON conferences_events.exchange_registration (organization)
    WHERE approval_status = 'Approved' AND registration_status = 'Active';
-- An integration's recent deliveries and its last one, whatever the number of leads.
CREATE INDEX IF NOT EXISTS delivery_delivered ON leads.delivery (integration_id, delivered_at)
    WHERE status = 'delivered';

-- Each delivery attempt keeps the request it sent (secret header values redacted), for a
-- lead's timeline; the delivery row keeps the last one as before.
ALTER TABLE leads.delivery_attempt ADD COLUMN IF NOT EXISTS request jsonb;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'platform_console') THEN
        RAISE NOTICE 'platform_console role absent: no grants';
        RETURN;
    END IF;
    GRANT SELECT ON ALL TABLES IN SCHEMA connector, leads TO platform_console;
    -- connection and stream settings, a full pull asked for, a refused removal confirmed
    GRANT UPDATE ON connector.connection, connector.stream, connector.pending_removal, connector.stream_run,
        connector.participant, connector.session, connector.presenter, connector.sponsor,
        connector.sponsor_level, connector.schedule, connector.location, connector.session_tag
        TO platform_console;
    -- a preview's calls share the account's pacing; a test registration is recorded like an app's
    GRANT INSERT, UPDATE ON connector.pacing, connector.register_request, connector.schedule TO platform_console;
    GRANT INSERT ON connector.register_attempt TO platform_console;
    -- test leads, redeliveries, integration states and confirmations, reruns and resent e-mails
    GRANT INSERT, UPDATE ON leads.delivery, leads.confirmation, leads.export TO platform_console;
    GRANT INSERT ON leads.delivery_attempt TO platform_console;
    GRANT UPDATE ON leads.integration, leads.export_template TO platform_console;
    -- a new integration, with its new client or lander
    GRANT INSERT ON leads.client, leads.lander, leads.integration TO platform_console;
    -- the export reads its lander's form definition for labels and fields
    GRANT SELECT ON integration.form_config, integration.form_field_map, integration.form_field_label
        TO platform_console;
    EXECUTE (SELECT 'GRANT USAGE ON SEQUENCE ' || string_agg(seq, ', ') || ' TO platform_console'
               FROM (SELECT pg_get_serial_sequence(t, 'id') AS seq
                       FROM unnest(ARRAY['leads.delivery_attempt', 'connector.register_attempt']) AS t) q
              WHERE seq IS NOT NULL);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'platform_console grants not made: %', SQLERRM;
END
$$;
