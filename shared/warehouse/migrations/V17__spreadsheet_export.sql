-- spreadsheet-export (issue 12): subscriptions to a lander's lead spreadsheet, custom templates,
-- one export record per subscription and report date, the e-mail template, and the lead fields
-- each lander has seen (the columns of the generic template and the names templates may use).

-- A custom template (see shared/export/README.md for its JSON). Subscriptions without one use
-- the generic template.
CREATE TABLE leads.export_template (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]*$'),
    description text,
    definition jsonb NOT NULL CHECK (jsonb_typeof(definition) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Who receives which lander's spreadsheet, and how. One per lander and client: the S3 key is
-- exports/<client>/<lander>/<report date>.xlsx.
CREATE TABLE leads.export_subscription (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]*$'),
    lander_id text NOT NULL REFERENCES leads.lander (id) ON UPDATE CASCADE,
    client_id text NOT NULL REFERENCES leads.client (id) ON UPDATE CASCADE,
    template_id text REFERENCES leads.export_template (id) ON UPDATE CASCADE,
    recipients text[] NOT NULL DEFAULT '{}',
    -- all: every lead of the lander; since_previous: those received since the previous report
    scope text NOT NULL DEFAULT 'all' CHECK (scope IN ('all', 'since_previous')),
    time_zone text NOT NULL DEFAULT 'UTC',
    enabled boolean NOT NULL DEFAULT true,
    UNIQUE (lander_id, client_id)
);

-- One per subscription and report date: a repeat or a retry overwrites the same object and
-- never e-mails twice.
--   planned   a job is on the queue
--   running   a worker holds it until claimed_until
--   done      written to S3 (and e-mailed once when it has recipients: emailed_at)
--   failed    the last attempt failed (error says why); the queue retries it
--   refused   the template cannot be used (error says why); nothing is sent
CREATE TABLE leads.export (
    subscription_id text NOT NULL REFERENCES leads.export_subscription (id) ON UPDATE CASCADE,
    report_date date NOT NULL,
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'running', 'done', 'failed', 'refused')),
    -- the report holds the leads received before cutoff (and, since_previous, from since on)
    cutoff timestamptz NOT NULL,
    since timestamptz,
    s3_key text,
    row_count bigint,
    bytes bigint,
    url text,
    url_expires_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    claimed_until timestamptz,
    error text,
    emailed_at timestamptz,
    email_claimed_until timestamptz,
    email_message_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, report_date)
);

-- The export reads a lander's leads in time order, streamed from this index (no sort).
CREATE INDEX lead_lander_received ON leads.lead (lander_id, received_at, id);

-- The lead fields each lander has seen, kept by a statement-level trigger: the generic
-- template's columns, and the names a custom template may use, without a pass over the leads.
CREATE TABLE leads.lander_field (
    lander_id text NOT NULL REFERENCES leads.lander (id) ON UPDATE CASCADE,
    field text NOT NULL,
    PRIMARY KEY (lander_id, field)
);
CREATE FUNCTION leads.note_lander_fields() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leads.lander_field (lander_id, field)
    SELECT DISTINCT n.lander_id, k FROM new_leads n, jsonb_object_keys(n.fields) AS k
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_fields AFTER INSERT ON leads.lead
    REFERENCING NEW TABLE AS new_leads FOR EACH STATEMENT EXECUTE FUNCTION leads.note_lander_fields();
INSERT INTO leads.lander_field (lander_id, field)
SELECT DISTINCT l.lander_id, k FROM leads.lead l, jsonb_object_keys(l.fields) AS k
ON CONFLICT DO NOTHING;

-- Placeholders: {client}, {lander}, {date}, {rows}, {url}, {expires}.
INSERT INTO leads.email_template (name, subject, body) VALUES
('export_ready', 'Leads of {lander}: your spreadsheet of {date}',
 E'Hello {client},\n\nThe spreadsheet of leads of "{lander}" for {date} is ready: {rows} leads.\n\nDownload it here (the link works until {expires} UTC):\n{url}\n\nThe lead integration team')
ON CONFLICT (name) DO NOTHING;
