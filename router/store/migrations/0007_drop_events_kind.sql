-- events_kind (kind, created_at) served no query, and misled SQLite's planner on the one
-- that filters by kind: the live feeds (the console's signals, the Slack mirror) ask for
-- "events after my cursor of these kinds", and through this index SQLite read every event
-- of those kinds ever written and sorted them (30 ms per poll at 400,000 events, growing
-- with the history, on the event loop) instead of the few rows after the cursor. Every
-- event written (two or three per message) also paid for its entry.
DROP INDEX IF EXISTS events_kind;
