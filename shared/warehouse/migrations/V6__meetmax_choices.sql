-- MeetMax fidelity (issue 13): attendee passwords as an explicit per-event choice, and
-- registrations an operator keeps out of MeetMax (the original scripts skipped them by id).

-- The original scripts always sent a password. An event now names a password secret, or says
-- explicitly that attendees are created without one; meetmax-sync refuses an event with neither.
ALTER TABLE integration.meetmax_event ADD COLUMN no_password boolean NOT NULL DEFAULT false;

-- Registrations never sent to MeetMax, with the operator's reason (shown in meetmax_status as
-- "not sent: excluded: <reason>"). Delete the row to send the registration again.
CREATE TABLE integration.meetmax_exclusion (
    registration_id text PRIMARY KEY,
    reason text NOT NULL CHECK (btrim(reason) <> ''),
    excluded_by text,
    excluded_at timestamptz NOT NULL DEFAULT now()
);

-- Every meetmax_status a registration had before it was replaced (by meetmax-sync, by the
-- original scripts' text being overwritten, or by an operator), kept beside the sync record.
CREATE TABLE integration.meetmax_status_history (
    id bigserial PRIMARY KEY,
    registration_id text NOT NULL,
    status text NOT NULL,
    replaced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetmax_status_history_registration ON integration.meetmax_status_history (registration_id, id);

CREATE FUNCTION integration.keep_meetmax_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO integration.meetmax_status_history (registration_id, status)
    VALUES (OLD.registration_id, OLD.meetmax_status);
    RETURN NEW;
END
$$;

CREATE TRIGGER keep_meetmax_status
    AFTER UPDATE OF meetmax_status ON conferences_events.exchange_registration
    FOR EACH ROW
    WHEN (OLD.meetmax_status IS NOT NULL AND OLD.meetmax_status IS DISTINCT FROM NEW.meetmax_status
          AND OLD.registration_id IS NOT NULL)
    EXECUTE FUNCTION integration.keep_meetmax_status();

-- Per role rule (the original scripts did both by role): `is_contact=Y` sent on the attendees of
-- the rule (suppliers, in the originals), and which of the event's custom fields the rule's
-- attendees get, by purpose (NULL: every custom field of the event; the originals sent the
-- meetings count to suppliers only).
ALTER TABLE integration.meetmax_role_rule
    ADD COLUMN is_contact boolean NOT NULL DEFAULT false,
    ADD COLUMN custom_fields text[];

-- The view gains the two columns at its end (CREATE OR REPLACE keeps the others and every view
-- built on it, such as conferences_events.exchange_meetmax).
CREATE OR REPLACE VIEW integration.meetmax_registration AS
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
       r.rollover,
       coalesce(rule.is_contact, false) AS is_contact,
       rule.custom_fields AS rule_custom_fields
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
