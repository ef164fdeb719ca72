-- Initial schema. Written in the SQL subset both SQLite and PostgreSQL accept where it can
-- be; backend-specific spellings (autoincrement keys, JSON) are rewritten by the backend.
CREATE TABLE contacts (
    id          {pk},
    display_name TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',
    fields      TEXT NOT NULL DEFAULT '{}',
    unreachable INTEGER NOT NULL DEFAULT 0,
    merged_into BIGINT,
    created_at  TEXT NOT NULL
);

CREATE TABLE identities (
    id           {pk},
    contact_id   BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    username     TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    UNIQUE (channel, external_id)
);
CREATE INDEX identities_contact ON identities(contact_id);

CREATE TABLE conversations (
    id                {pk},
    contact_id        BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel           TEXT NOT NULL,
    thread_key        TEXT NOT NULL,
    recipient         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    language          TEXT NOT NULL DEFAULT '',
    queue             TEXT NOT NULL DEFAULT '',
    priority          TEXT NOT NULL DEFAULT 'normal',
    tags              TEXT NOT NULL DEFAULT '[]',
    assignee          TEXT NOT NULL DEFAULT '',
    message_count     INTEGER NOT NULL DEFAULT 0,
    bot_turns         INTEGER NOT NULL DEFAULT 0,
    metadata          TEXT NOT NULL DEFAULT '{}',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    queued_at         TEXT,
    first_response_at TEXT,
    resolved_at       TEXT,
    last_customer_at  TEXT
);
CREATE INDEX conversations_status ON conversations(status, queue);
CREATE INDEX conversations_contact ON conversations(contact_id);

-- Every key under which a platform thread finds its conversation (chat id, email
-- Message-IDs, reply tokens). Newest conversation wins for a key.
CREATE TABLE thread_keys (
    channel         TEXT NOT NULL,
    key             TEXT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    PRIMARY KEY (channel, key, conversation_id)
);
CREATE INDEX thread_keys_conversation ON thread_keys(conversation_id);

CREATE TABLE messages (
    id              {pk},
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    direction       TEXT NOT NULL,
    author_kind     TEXT NOT NULL,
    author_id       TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT '',
    external_id     TEXT NOT NULL DEFAULT '',
    attachments     TEXT NOT NULL DEFAULT '[]',
    internal        INTEGER NOT NULL DEFAULT 0,
    raw             TEXT,
    created_at      TEXT NOT NULL,
    edited_at       TEXT
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);

-- The dedupe key of every inbound delivery: a redelivery hits the primary key.
CREATE TABLE inbox (
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    message_id  BIGINT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

CREATE TABLE outbox (
    id              {pk},
    idempotency_key TEXT NOT NULL UNIQUE,
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE CASCADE,
    message_id      BIGINT,
    channel         TEXT NOT NULL,
    thread_key      TEXT NOT NULL DEFAULT '',
    recipient       TEXT NOT NULL DEFAULT '',
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_error      TEXT NOT NULL DEFAULT '',
    external_id     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_thread ON outbox(channel, thread_key, status);

CREATE TABLE events (
    id              {pk},
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    actor           TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX events_conversation ON events(conversation_id, id);
CREATE INDEX events_kind ON events(kind, created_at);
