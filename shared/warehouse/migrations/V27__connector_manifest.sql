-- The manifest (provider, version and digest) that pulled each run, shown to operators beside it.
ALTER TABLE connector.stream_run ADD COLUMN manifest text;
