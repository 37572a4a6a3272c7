-- Role rules with conditions and transforms (issue 13 A3): later scripts chose the role from an
-- answer on the form ("No" to one-on-one meetings → another role) and capped a list at five
-- items. A rule may now hold a condition on a registration column (`condition_column` equals,
-- trimmed and case-insensitively, one of `condition_values`); for one registration type the
-- conditional rules that match come before the unconditional one, then by `priority`.
-- `list_caps` caps `|`-joined lists by custom-field purpose, e.g. {"industries": 5}.
ALTER TABLE integration.meetmax_role_rule DROP CONSTRAINT meetmax_role_rule_pkey;
ALTER TABLE integration.meetmax_role_rule
    ADD COLUMN rule_id bigserial PRIMARY KEY,
    ADD COLUMN priority integer NOT NULL DEFAULT 0,
    ADD COLUMN condition_column text,
    ADD COLUMN condition_values text[],
    ADD COLUMN list_caps jsonb NOT NULL DEFAULT '{}',
    ADD CONSTRAINT meetmax_role_rule_condition_complete
        CHECK ((condition_column IS NULL) = (condition_values IS NULL)),
    ADD CONSTRAINT meetmax_role_rule_list_caps_object CHECK (jsonb_typeof(list_caps) = 'object');
-- One unconditional rule per type; conditional ones told apart by their condition and priority.
CREATE UNIQUE INDEX meetmax_role_rule_unconditional ON integration.meetmax_role_rule (form_id, registration_type)
    WHERE condition_column IS NULL;
CREATE UNIQUE INDEX meetmax_role_rule_conditional
    ON integration.meetmax_role_rule (form_id, registration_type, condition_column, priority)
    WHERE condition_column IS NOT NULL;

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
       rule.custom_fields AS rule_custom_fields,
       rule.list_caps AS rule_list_caps
  FROM conferences_events.exchange_registration r
  LEFT JOIN integration.meetmax_event e ON e.form_id = r.form_id
  LEFT JOIN LATERAL (
        SELECT x.* FROM integration.meetmax_role_rule x
         WHERE x.form_id = r.form_id AND (x.registration_type = r.registration_type OR x.registration_type = '*')
           AND (x.condition_column IS NULL
                OR lower(btrim(to_jsonb(r) ->> x.condition_column))
                   = ANY (SELECT lower(btrim(v)) FROM unnest(x.condition_values) AS v))
         ORDER BY x.registration_type = '*', x.condition_column IS NULL, x.priority
         LIMIT 1) rule ON true
  LEFT JOIN LATERAL (
        SELECT s.full_name FROM conferences_events.states s
         WHERE s.name::text = coalesce(r.state_organization, r.address_state)
         ORDER BY s.id LIMIT 1) st ON true
  LEFT JOIN LATERAL (
        SELECT o.clean_organization, o.reviewed FROM conferences_events.exchange_organizations o
         WHERE o.original_organization = r.organization
         ORDER BY o.reviewed DESC NULLS LAST, o.id LIMIT 1) org ON true;
