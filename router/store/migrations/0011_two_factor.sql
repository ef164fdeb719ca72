-- Two-factor sign-in for local accounts (issue 29): a TOTP secret per agent, encrypted
-- with the installation's two-factor key (router/console/twofactor.py), and ten recovery
-- codes kept as sha256 digests (80 random bits each), each usable once.
-- `enabled_at` stays NULL while an enrolment waits for its first code; `last_step` is the
-- newest 30-second time step a code was accepted for, so a code is never accepted twice.
CREATE TABLE agent_two_factor (
    agent_id    BIGINT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
    secret      TEXT NOT NULL,
    enabled_at  TEXT,
    last_step   BIGINT NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE TABLE recovery_codes (
    id          {pk},
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX recovery_codes_agent ON recovery_codes (agent_id, code_hash)
