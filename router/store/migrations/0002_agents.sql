-- Agents, API tokens, SLA clocks and snooze (issue 6). Same SQL subset as 0001.
CREATE TABLE agents (
    id                {pk},
    name              TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    role              TEXT NOT NULL DEFAULT 'agent',
    languages         TEXT NOT NULL DEFAULT '[]',
    capacity          INTEGER NOT NULL DEFAULT 5,
    online            INTEGER NOT NULL DEFAULT 0,
    online_changed_at TEXT,
    disabled          INTEGER NOT NULL DEFAULT 0,
    last_assigned_at  TEXT,
    source            TEXT NOT NULL DEFAULT 'cli',
    created_at        TEXT NOT NULL
);

-- Only the sha256 of a token is kept; the token is shown once when it is made.
CREATE TABLE api_tokens (
    id           {pk},
    agent_id     BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_agent ON api_tokens(agent_id);

ALTER TABLE conversations ADD COLUMN assigned_at TEXT;
ALTER TABLE conversations ADD COLUMN last_agent_at TEXT;
ALTER TABLE conversations ADD COLUMN first_response_due TEXT;
ALTER TABLE conversations ADD COLUMN resolution_due TEXT;
ALTER TABLE conversations ADD COLUMN sla_paused_at TEXT;
ALTER TABLE conversations ADD COLUMN sla_first_breached_at TEXT;
ALTER TABLE conversations ADD COLUMN sla_resolution_breached_at TEXT;
ALTER TABLE conversations ADD COLUMN snoozed_until TEXT;

CREATE INDEX conversations_assignee ON conversations(assignee, status);
CREATE INDEX conversations_snoozed ON conversations(snoozed_until);
CREATE INDEX conversations_first_due ON conversations(status, first_response_due);
CREATE INDEX conversations_resolution_due ON conversations(status, resolution_due);
