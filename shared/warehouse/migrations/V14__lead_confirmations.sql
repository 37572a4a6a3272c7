-- lead-delivery (issue 11): the client's confirmation e-mail, once per integration, and the
-- e-mail templates (configuration).

-- Placeholders: {client}, {lander}, {system}, {integration}, {lead_time}, {vendor_lead_id}.
CREATE TABLE leads.email_template (
    name text PRIMARY KEY,
    subject text NOT NULL,
    body text NOT NULL
);
INSERT INTO leads.email_template (name, subject, body) VALUES
('integration_confirmed', 'Your leads from {lander} now reach {system}',
 E'Hello {client},\n\nThe integration of your lander "{lander}" with {system} works: its first lead was delivered at {lead_time} (UTC), and {system} answered with lead id {vendor_lead_id}.\n\nFrom now on every lead of this lander is delivered as it arrives.\n\nThe lead integration team');

-- One row per integration, created with its first real delivery (in the same transaction), so
-- there is never a second; sent_at says whether the e-mail left, claimed_until who is sending it.
CREATE TABLE leads.confirmation (
    integration_id text PRIMARY KEY REFERENCES leads.integration (id) ON UPDATE CASCADE,
    lead_id bigint NOT NULL REFERENCES leads.lead (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    claimed_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    sent_at timestamptz,
    recipient text,
    subject text,
    message_id text,
    error text
);
