-- When each row's detail (a per-record call completing a list record) was last read: a full
-- pull reuses a stored detail only while it is younger than the connection's
-- `detail_max_age_hours` (default 24) and the list record is unchanged. Every target table keeps
-- the one shape.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['participant', 'session', 'presenter', 'sponsor', 'sponsor_level', 'schedule',
                             'location', 'session_tag'] LOOP
        EXECUTE format('ALTER TABLE connector.%I ADD COLUMN detail_read_at timestamptz', t);
    END LOOP;
END $$;
