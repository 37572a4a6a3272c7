-- A new MeetMax event sends industries as a list (one repeated `custom_<id>` parameter per
-- label): the form of every script from 2022 to 2025, the most recent evidence
-- (`shared/vendors/docs/meetmax.md`). The README's pipe-joined value (2021) stays available as
-- `pipe`; events configured before keep what they have.
ALTER TABLE integration.meetmax_event ALTER COLUMN industries_format SET DEFAULT 'list';
