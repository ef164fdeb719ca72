-- Sign-in throttling (issue 22): failed-attempt counters per account, per account at an
-- address and per address, shared by every instance. An attempt is counted (reserved)
-- before its password is checked, in the same write unit that reads the counter, so
-- concurrent attempts cannot all slip past a limit. Times are epoch milliseconds.
CREATE TABLE signin_limits (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    strikes INTEGER NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX signin_limits_updated ON signin_limits (updated_at);
