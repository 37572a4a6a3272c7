-- What each connection's provider was seen to send where the public record is silent or
-- conflicting (record shapes, end-of-list texts, refused parameters): key → {note, run_id, at},
-- each key kept from the first run that saw it. The preview shows them.
ALTER TABLE connector.connection ADD COLUMN first_contact jsonb NOT NULL DEFAULT '{}';
