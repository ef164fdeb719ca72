-- Channels' own state (issue 25): what a channel keeps between messages (email thread
-- memory, IMAP positions, auto-reply counters, ...) as JSON under (channel, key), in one
-- table so that every instance sharing the database shares it and privacy erase finds it
-- by `contact_id` and `conversation_id`. `owner`/`lease_until` make a row a lease
-- (`ChannelState.claim`): held by `owner` until `lease_until`, then anyone's to take.
CREATE TABLE channel_state (
    channel          TEXT NOT NULL,
    key              TEXT NOT NULL,
    value            TEXT,
    conversation_id  BIGINT,
    contact_id       BIGINT,
    owner            TEXT NOT NULL DEFAULT '',
    lease_until      TEXT,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (channel, key)
);
CREATE INDEX channel_state_conversation ON channel_state (conversation_id);
CREATE INDEX channel_state_contact ON channel_state (contact_id)
