-- Deferred processing (acknowledge on "stored"): a webhook's message is committed here,
-- acknowledged, and processed afterwards in arrival order. `pending` holds the normalised
-- message (JSON) until its processing commits; `failed` says why processing gave up on it
-- (the message stays here, never lost; `inquiry-router inbox retry` runs it again).
ALTER TABLE inbox ADD COLUMN pending TEXT;
ALTER TABLE inbox ADD COLUMN failed TEXT;
CREATE INDEX inbox_pending ON inbox(received_at) WHERE pending IS NOT NULL;
