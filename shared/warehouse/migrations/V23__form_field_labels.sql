-- Each Formstack form's field labels, as its definition (`GET /form/{id}.json`) gives them:
-- what a person reads wherever a field id or a lead field would otherwise show (the lead
-- spreadsheets' headers). Refreshed by the scheduled pull, at most daily per form.
CREATE TABLE integration.form_field_label (
    form_id text NOT NULL,
    field_id text NOT NULL,
    label text NOT NULL,
    name text,
    field_type text,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (form_id, field_id)
);
