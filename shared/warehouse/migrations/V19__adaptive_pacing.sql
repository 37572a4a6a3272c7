-- Adaptive MeetMax pacing (issue 14): MeetMax does not publish its rate limit, so the account's
-- rate_per_second is only where pacing starts. The client raises the rate while calls succeed
-- and cuts it on a 429 (additive increase, multiplicative decrease), within
-- [rate_per_second / 10, max_rate_per_second]; what it learned is kept here, so that the next
-- container starts from it instead of from the guess.
ALTER TABLE integration.meetmax_account
    ADD COLUMN adaptive_rate boolean NOT NULL DEFAULT true,
    ADD COLUMN max_rate_per_second double precision CHECK (max_rate_per_second > 0);

COMMENT ON COLUMN integration.meetmax_account.adaptive_rate IS
    'true: pacing starts at rate_per_second (or the learned rate in integration.vendor_pace) and adapts; false: a fixed rate_per_second';
COMMENT ON COLUMN integration.meetmax_account.max_rate_per_second IS
    'the adaptive rate never exceeds this (NULL: 5 x rate_per_second)';

-- What adaptive pacing learned, per vendor account (rates for the whole account, all instances).
CREATE TABLE integration.vendor_pace (
    vendor text NOT NULL,
    account text NOT NULL,
    rate_per_second double precision NOT NULL CHECK (rate_per_second > 0),
    ceiling_per_second double precision CHECK (ceiling_per_second > 0),  -- the rate the last 429 came at
    accepted bigint NOT NULL DEFAULT 0,      -- calls taken since the row was created
    refused bigint NOT NULL DEFAULT 0,       -- calls refused with 429 since the row was created
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vendor, account)
);
