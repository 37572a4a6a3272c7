-- lead-delivery (issue 11): landers, clients, integrations as data, the leads, and one delivery
-- record per lead and integration with every attempt.
CREATE SCHEMA leads;

CREATE TABLE leads.client (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]*$'),
    name text NOT NULL,
    contact_email text,
    first_seen timestamptz NOT NULL DEFAULT now()
);

-- A landing page. Its leads come from the generic signed endpoint (key in the secret
-- LEAD_ENDPOINT_KEYS_SECRET_ID under the lander's id) or, later, from a Formstack form.
CREATE TABLE leads.lander (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]*$'),
    name text NOT NULL,
    client_id text NOT NULL REFERENCES leads.client (id) ON UPDATE CASCADE,
    formstack_form_id text UNIQUE,
    needs_custom_script boolean NOT NULL DEFAULT false,
    enabled boolean NOT NULL DEFAULT true
);

-- Every lead as it came (fields kept whole), with the core fields typed.
CREATE TABLE leads.lead (
    id bigserial PRIMARY KEY,
    lander_id text NOT NULL REFERENCES leads.lander (id) ON UPDATE CASCADE,
    source text NOT NULL CHECK (source IN ('endpoint', 'formstack', 'test')),
    source_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    first_name text,
    last_name text,
    email text,
    phone text,
    fields jsonb NOT NULL CHECK (jsonb_typeof(fields) = 'object'),
    is_test boolean NOT NULL DEFAULT false,
    UNIQUE (lander_id, source, source_id)
);

-- A lander × a client × a parser configuration.
CREATE TABLE leads.integration (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]*$'),
    lander_id text NOT NULL REFERENCES leads.lander (id) ON UPDATE CASCADE,
    client_id text NOT NULL REFERENCES leads.client (id) ON UPDATE CASCADE,
    parser text NOT NULL CHECK (parser IN ('captorra', 'ice', 'captorra_calltracking', 'intakedesk', 'webhook')),
    endpoint text,
    secret_id text,
    mapping jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(mapping) = 'object'),
    constants jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(constants) = 'object'),
    rules jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(rules) = 'object'),
    options jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    contact_email text,
    state text NOT NULL DEFAULT 'awaiting_information' CHECK (state IN ('awaiting_information', 'ready', 'live')),
    missing text[] NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL DEFAULT true,
    live_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integration_lander ON leads.integration (lander_id);

-- One row per lead and integration: at most one 2xx, ever.
--   waiting          the integration is not ready yet (or the lead is queued)
--   sending          an attempt is in flight until claimed_until
--   delivered        the vendor answered 2xx (never posted again)
--   retrying         network error, 429 or 5xx: the queue brings it back
--   rejected         a 4xx: permanent until an operator redelivers
--   invalid          broke the integration's rules: not sent
--   unknown_outcome  an attempt was sent and its answer lost (crash): not re-posted blindly
CREATE TABLE leads.delivery (
    lead_id bigint NOT NULL REFERENCES leads.lead (id),
    integration_id text NOT NULL REFERENCES leads.integration (id) ON UPDATE CASCADE,
    status text NOT NULL DEFAULT 'waiting'
        CHECK (status IN ('waiting', 'sending', 'delivered', 'retrying', 'rejected', 'invalid', 'unknown_outcome')),
    attempts integer NOT NULL DEFAULT 0,
    claimed_until timestamptz,
    vendor_lead_id text,
    response_status integer,
    response_body text,
    request jsonb,
    reason text,
    warnings text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lead_id, integration_id)
);
CREATE INDEX delivery_status ON leads.delivery (integration_id, status);

CREATE TABLE leads.delivery_attempt (
    id bigserial PRIMARY KEY,
    lead_id bigint NOT NULL,
    integration_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    response_status integer,
    outcome text NOT NULL,
    response_body text,
    error text,
    ms integer
);
CREATE INDEX delivery_attempt_lead ON leads.delivery_attempt (lead_id, integration_id);

-- Operators' view: per lander, leads delivered / waiting / failed (with reasons).
CREATE VIEW leads.lander_status AS
SELECT l.id AS lander_id, i.id AS integration_id, i.parser, i.state,
       count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
       count(*) FILTER (WHERE d.status IN ('waiting', 'sending', 'retrying')) AS waiting,
       count(*) FILTER (WHERE d.status IN ('rejected', 'invalid', 'unknown_outcome')) AS failed,
       array_remove(array_agg(DISTINCT d.reason) FILTER (WHERE d.status IN ('rejected', 'invalid', 'unknown_outcome')), NULL) AS reasons
  FROM leads.lander l
  JOIN leads.integration i ON i.lander_id = l.id
  LEFT JOIN leads.delivery d ON d.integration_id = i.id AND d.lead_id IN (SELECT id FROM leads.lead WHERE NOT is_test)
 GROUP BY l.id, i.id, i.parser, i.state;
