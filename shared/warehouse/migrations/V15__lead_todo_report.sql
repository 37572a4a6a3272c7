-- lead-delivery (issue 11): the afternoon to-do list as a report, and the team's notices of new
-- clients and custom-script landers (sent once, the day they appear).
CREATE TABLE leads.todo_report (
    report_date date PRIMARY KEY,
    s3_key text NOT NULL,
    awaiting integer NOT NULL,
    waiting_leads integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE leads.team_notice (
    kind text NOT NULL CHECK (kind IN ('new_client', 'custom_script')),
    subject_id text NOT NULL,
    noticed_on date NOT NULL,
    sent_at timestamptz,
    PRIMARY KEY (kind, subject_id)
);
