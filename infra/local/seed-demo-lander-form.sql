-- Demo configuration of a Formstack lander form, applied after seed-demo.sql (by `make run` and
-- the lander-form tests; the registration tests pull only the registration form).
-- Idempotent: safe to run on every `make run`.
-- The sandbox's demo lander form (5211430) feeds the lander flow: its submissions become leads of
-- the lander demo-slip-lp (seed-demo.sql names the form as its formstack_form_id). target_column names the lead field; field 206 is unmapped
-- and kept under its own key.
INSERT INTO integration.form_config (form_id, flow, enabled, pull_enabled, time_zone, description)
VALUES ('5211430', 'lander', true, true, 'America/New_York', 'Slip and fall lander (sandbox demo)')
ON CONFLICT (form_id) DO NOTHING;
INSERT INTO integration.form_field_map (form_id, field_id, subfield, target_column, required, position)
VALUES
    ('5211430', '201', 'first', 'first_name', true, 1),
    ('5211430', '201', 'last', 'last_name', false, 2),
    ('5211430', '202', '', 'email', false, 3),
    ('5211430', '203', '', 'phone', true, 4),
    ('5211430', '204', '', 'details', false, 5),
    ('5211430', '205', '', 'incident_date', false, 6)
ON CONFLICT DO NOTHING;
