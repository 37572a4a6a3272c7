-- lead-delivery (issue 11): a Formstack form may feed the lander flow. Its submissions become
-- leads of the lander whose leads.lander.formstack_form_id names the form; its field map's
-- target_column is then the lead field name (any name the integrations' mappings use).
ALTER TABLE integration.form_config DROP CONSTRAINT form_config_flow_check;
ALTER TABLE integration.form_config ADD CONSTRAINT form_config_flow_check CHECK (flow IN ('registration', 'lander'));
