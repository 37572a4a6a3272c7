-- Demo configuration: the sandbox's demo form (5095980) feeds the registration flow.
-- Idempotent: safe to run on every `make run`.
INSERT INTO integration.form_config (form_id, flow, enabled, pull_enabled, time_zone, description)
VALUES ('5095980', 'registration', true, true, 'America/New_York', 'Exchange 2026 Registration (sandbox demo)')
ON CONFLICT (form_id) DO NOTHING;

INSERT INTO integration.form_field_map (form_id, field_id, subfield, target_column, required, position)
VALUES
    ('5095980', '101', 'first', 'first_name', true, 1),
    ('5095980', '101', 'last', 'last_name', true, 2),
    ('5095980', '102', '', 'organization', false, 3),
    ('5095980', '103', '', 'title', false, 4),
    ('5095980', '104', '', 'email', true, 5),
    ('5095980', '105', '', 'phone', false, 6),
    ('5095980', '106', '', 'registration_type', false, 7),
    ('5095980', '107', 'address', 'address', false, 8),
    ('5095980', '107', 'address2', 'suite', false, 9),
    ('5095980', '107', 'city', 'address_city', false, 10),
    ('5095980', '107', 'state', 'address_state', false, 11),
    ('5095980', '107', 'zip', 'address_zip', false, 12),
    ('5095980', '108', '', 'state_organization', false, 13),
    ('5095980', '109', '', 'one_one', false, 14),
    ('5095980', '110', '', 'time_zone', false, 15),
    ('5095980', '111', '', 'industries', false, 16),
    ('5095980', '112', '', 'other_industries', false, 17),
    ('5095980', '113', '', 'profile', false, 18),
    ('5095980', '114', '', 'headshot', false, 19),
    ('5095980', '115', '', 'total_price', false, 20),
    ('5095980', '116', '', 'registration_status', false, 21),
    ('5095980', '117', '', 'meetings', false, 22)
ON CONFLICT DO NOTHING;

-- company-dedupe demo: one reviewed clean name, and automatic approval of exact keys switched on
-- (off by default).
INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
SELECT 'Acme Corporation', 'Acme', true
 WHERE NOT EXISTS (SELECT 1 FROM conferences_events.exchange_organizations WHERE original_organization = 'Acme Corporation');
UPDATE integration.setting SET value = 'true' WHERE name = 'dedupe.auto_approve_exact';

-- meetmax-sync demo: the sandbox account (make run and the tests set base_url to the running
-- sandbox), the demo form's event with the role rules of the published exchange_meetmax view,
-- and the state lookup for Kentucky (Texas deliberately missing: a state member from TX is
-- "not sent" with the reason).
INSERT INTO integration.meetmax_account (name, environment, base_url, secret_id, rate_per_second, concurrency, description)
VALUES ('sandbox', 'sandbox', 'http://127.0.0.1:9', 'platform/local/meetmax', 20, 4, 'the vendor sandbox; make run sets base_url')
ON CONFLICT (name) DO NOTHING;

INSERT INTO integration.meetmax_event (form_id, account, event_id, company_role, custom_fields, no_password, description)
VALUES ('5095980', 'sandbox', '90199', 'NASPO2_SUPPLIER_CO',
        '{"profile": 12766, "locale": 12784, "headshot": 7581, "meetings": 7664, "industries": 9069, "other_industries": 8928}',
        true, 'Exchange 2026 (sandbox event 90199; attendees without a password)')
ON CONFLICT (form_id) DO NOTHING;
-- A demo warehouse seeded before no_password existed: the demo event sends no password, by choice.
UPDATE integration.meetmax_event SET no_password = true
 WHERE form_id = '5095980' AND password_secret_id IS NULL AND NOT no_password;

INSERT INTO integration.meetmax_role_rule (form_id, registration_type, attendee_role, group_name, company_source, company_entity)
VALUES
    ('5095980', 'State Member', 'NASPO2_STATE_REP', NULL, 'state', false),
    ('5095980', 'Supplier', 'NASPO2_SUPPLIER_ATT', NULL, 'clean', true),
    ('5095980', 'Supplier - Small Business', 'NASPO2_SUPPLIER_ATT', NULL, 'clean', true),
    ('5095980', 'NASPO & NASPO ValuePoint Staff', 'NASPO2_NASPO_REP', NULL, 'clean', false),
    ('5095980', 'Partner (Academic, Affiliate, Associate, Strategic)', 'NASPO2_OTHER_ATTENDEE', '1', 'clean', false),
    ('5095980', 'Life Member or Honorary Member', 'NASPO2_OTHER_ATTENDEE', '2', 'typed', false),
    ('5095980', 'Speaker or VIP', 'NASPO2_OTHER_ATTENDEE', '3', 'typed', false),
    ('5095980', '*', 'NASPO2_OTHER_ATTENDEE', NULL, 'typed', false)
ON CONFLICT DO NOTHING;

INSERT INTO conferences_events.states (name, full_name)
SELECT 'KY', 'Kentucky' WHERE NOT EXISTS (SELECT 1 FROM conferences_events.states WHERE name = 'KY');

-- connector-pull: the sandbox's demo Aventri event (credentials in platform/local/aventri).
INSERT INTO connector.connection (name, provider, secret_id, settings)
VALUES ('demo-aventri', 'aventri', 'platform/local/aventri',
        '{"active_statuses": "Confirmed, Attended", "event_time_zone": "America/New_York",
          "ConcurrentSessionsTitle": "Concurrent sessions", "look_back_hours": 24}')
ON CONFLICT (name) DO UPDATE SET provider = excluded.provider, secret_id = excluded.secret_id, settings = excluded.settings;
INSERT INTO connector.stream (connection, stream, mapping)
VALUES ('demo-aventri', 'participants', '{"photo": "responses.Profile Photo"}'),
       ('demo-aventri', 'schedule', '{}'), ('demo-aventri', 'sponsors', '{}'),
       ('demo-aventri', 'sponsor_levels', '{}'), ('demo-aventri', 'sessions', '{}'),
       ('demo-aventri', 'presenters', '{}')
ON CONFLICT (connection, stream) DO UPDATE SET mapping = excluded.mapping;

-- connector-pull: the sandbox's demo Lenos event (credentials in platform/local/lenos; the
-- provisional contract lenos-provisional-v1), and the demo event app allowed to register
-- attendees to its sessions (its key in platform/local/register-app-keys).
INSERT INTO connector.connection (name, provider, secret_id, settings)
VALUES ('demo-lenos', 'lenos', 'platform/local/lenos',
        '{"event_time_zone": "Europe/Paris", "ConcurrentSessionsTitle": "Parallel sessions", "look_back_minutes": 10,
          "register_timeout_seconds": 3}')
ON CONFLICT (name) DO UPDATE SET provider = excluded.provider, secret_id = excluded.secret_id, settings = excluded.settings;
INSERT INTO connector.stream (connection, stream, mapping)
VALUES ('demo-lenos', 'participants', '{}'), ('demo-lenos', 'sessions', '{"in_slot": "in_slot"}'),
       ('demo-lenos', 'registrations', '{}'), ('demo-lenos', 'locations', '{}'), ('demo-lenos', 'session_tags', '{}')
ON CONFLICT (connection, stream) DO UPDATE SET mapping = excluded.mapping;
INSERT INTO connector.register_app (app, connection) VALUES ('demo-event-app', 'demo-lenos')
ON CONFLICT (app) DO UPDATE SET connection = excluded.connection, enabled = true;

-- connector-pull: the sandbox's demo Cvent event (credentials in platform/local/cvent; the
-- provider is a manifest only). Two records a page, so that the demo pages by token.
INSERT INTO connector.connection (name, provider, secret_id, settings)
VALUES ('demo-cvent', 'cvent', 'platform/local/cvent', '{"event_time_zone": "America/New_York", "page_limit": 2}')
ON CONFLICT (name) DO UPDATE SET provider = excluded.provider, secret_id = excluded.secret_id, settings = excluded.settings;
INSERT INTO connector.stream (connection, stream, mapping)
VALUES ('demo-cvent', 'participants', '{}'), ('demo-cvent', 'sessions', '{}'), ('demo-cvent', 'presenters', '{}'),
       ('demo-cvent', 'sponsors', '{}'), ('demo-cvent', 'sponsor_levels', '{}')
ON CONFLICT (connection, stream) DO UPDATE SET mapping = excluded.mapping;

-- lead-delivery: three demo clients and landers, each delivered to its intake system in the
-- sandbox (demo.sh points the endpoints at it), and one webhook integration still awaiting
-- its endpoint.
INSERT INTO leads.client (id, name, contact_email) VALUES
  ('smith-law', 'Smith Law', 'intake@smith-law.example'),
  ('jones-injury', 'Jones Injury Attorneys', 'leads@jones-injury.example'),
  ('baker-legal', 'Baker Legal Group', 'intake@baker-legal.example')
ON CONFLICT (id) DO UPDATE SET name = excluded.name, contact_email = excluded.contact_email;
INSERT INTO leads.lander (id, name, client_id) VALUES
  ('demo-accident-lp', 'Car accident lander', 'smith-law'),
  ('demo-injury-lp', 'Injury claim lander', 'jones-injury'),
  ('demo-meso-lp', 'Mesothelioma lander', 'baker-legal')
ON CONFLICT (id) DO UPDATE SET name = excluded.name, client_id = excluded.client_id;
-- A lander built on Formstack: its leads come through formstack-intake (webhook and pull).
INSERT INTO leads.lander (id, name, client_id, formstack_form_id) VALUES
  ('demo-slip-lp', 'Slip and fall lander', 'smith-law', '5211430')
ON CONFLICT (id) DO UPDATE SET name = excluded.name, client_id = excluded.client_id, formstack_form_id = excluded.formstack_form_id;
INSERT INTO leads.integration (id, lander_id, client_id, parser, endpoint, mapping, constants, options, contact_email) VALUES
  ('demo-captorra', 'demo-accident-lp', 'smith-law', 'captorra', 'http://sandbox.invalid/api/captorraapi/create',
   '{"First": {"field": "first_name", "transform": ["trim", "title"]}, "Last": "last_name", "Primary": {"field": "phone", "transform": "digits"},
     "Email": "email", "Details": "details", "ID": "lead_id"}',
   '{"CaptorraId": "123456", "Referrer": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}', '{}', 'intake@smith-law.example'),
  ('demo-slip-captorra', 'demo-slip-lp', 'smith-law', 'captorra', 'http://sandbox.invalid/api/captorraapi/create',
   '{"First": {"field": "first_name", "transform": ["trim", "title"]}, "Last": "last_name", "Primary": {"field": "phone", "transform": "digits"},
     "Email": "email", "Details": "details", "IncidentDate": "incident_date", "ID": "lead_id"}',
   '{"CaptorraId": "123456", "Referrer": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}', '{}', 'intake@smith-law.example'),
  ('demo-ice', 'demo-injury-lp', 'jones-injury', 'ice', 'http://sandbox.invalid/api/iceapi/create',
   '{"First": "first_name", "Last": "last_name", "Primary": {"field": "phone", "transform": "digits"}, "ID": "lead_id"}',
   '{"Referrer": "0E984725-C51C-4BF4-9960-E1C80E27ABA0"}', '{}', 'leads@jones-injury.example'),
  ('demo-jones-webhook', 'demo-injury-lp', 'jones-injury', 'webhook', NULL,
   '{"name": "first_name", "surname": "last_name"}', '{}', '{}', 'leads@jones-injury.example'),
  ('demo-intakedesk', 'demo-meso-lp', 'baker-legal', 'intakedesk', 'http://sandbox.invalid/intakedesk/meso-2026',
   '{"first": "first_name", "last": "last_name", "phone": "phone", "email": "email"}', '{"campaign": "meso-2026"}', '{"body": "form"}',
   'intake@baker-legal.example')
ON CONFLICT (id) DO UPDATE SET lander_id = excluded.lander_id, client_id = excluded.client_id, parser = excluded.parser,
  endpoint = excluded.endpoint, mapping = excluded.mapping, constants = excluded.constants, options = excluded.options,
  contact_email = excluded.contact_email;

-- spreadsheet-export: the Slip and fall lander's leads to Smith Law in the generic template
-- (every lead so far, New York time), and the Car accident lander's in a custom template (the
-- leads since the previous report, Chicago time). make run plans the morning's reports.
INSERT INTO leads.export_template (id, description, definition) VALUES
  ('demo-accident-custom', 'Smith Law''s accident sheet: newest first, digits-only phones, no summary',
   '{"sheet": "Accident leads", "summary": false,
     "columns": [{"field": "received_at", "header": "Received (Chicago)", "format": "mm/dd/yyyy hh:mm", "width": 20},
                 {"field": "first_name", "header": "First", "transform": ["trim", "title"]},
                 {"field": "last_name", "header": "Last"},
                 {"field": "phone", "header": "Phone", "transform": "digits", "type": "text", "width": 14},
                 {"field": "email", "header": "Email", "width": 28},
                 {"field": "details", "header": "What happened", "width": 40}],
     "sort": [{"field": "received_at", "descending": true}]}')
ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, description = excluded.description;
INSERT INTO leads.export_subscription (id, lander_id, client_id, template_id, recipients, scope, time_zone) VALUES
  ('demo-slip-generic', 'demo-slip-lp', 'smith-law', NULL, ARRAY['reports@smith-law.example'], 'all', 'America/New_York'),
  ('demo-accident-custom', 'demo-accident-lp', 'smith-law', 'demo-accident-custom', ARRAY['reports@smith-law.example'],
   'since_previous', 'America/Chicago')
ON CONFLICT (id) DO UPDATE SET lander_id = excluded.lander_id, client_id = excluded.client_id, template_id = excluded.template_id,
  recipients = excluded.recipients, scope = excluded.scope, time_zone = excluded.time_zone, enabled = true;
