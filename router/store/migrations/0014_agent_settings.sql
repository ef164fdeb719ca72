-- Agents' own console settings (issue 24): notifications (sound, desktop, for what),
-- kept per agent on the server so they follow the agent to any browser. `settings` is
-- JSON; router/api/agent_settings.py validates and fills in the defaults.
CREATE TABLE agent_settings (
    agent_id    BIGINT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
    settings    TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL
)
