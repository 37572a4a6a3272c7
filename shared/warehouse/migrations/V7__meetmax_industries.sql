-- How an event sends industries (issue 13 A4): `pipe` — one value, the labels joined with '|'
-- (the 2021 view, as MeetMax support advised); `list` — the 2022+ scripts: one repeated
-- `custom_<id>` parameter per label, and an "OTHER: …" entry moved to the other-industries field.
ALTER TABLE integration.meetmax_event
    ADD COLUMN industries_format text NOT NULL DEFAULT 'pipe' CHECK (industries_format IN ('pipe', 'list'));
