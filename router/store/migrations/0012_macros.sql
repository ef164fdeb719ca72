-- Macros (issue 24): replies agents write themselves, per language, with template
-- variables ({{ contact.name }}, {{ agent.name }}) rendered in Jinja2's sandbox, and
-- optional follow-up actions (tags, priority, resolve). `owner` is '' for a macro every
-- agent sees (shared) or the agent name of the one agent who sees it (personal).
-- `texts` is JSON {language: template}; `actions` is JSON {add_tags: [...],
-- priority: "high", resolve: true}.
CREATE TABLE macros (
    id          {pk},
    name        TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    texts       TEXT NOT NULL DEFAULT '{}',
    actions     TEXT NOT NULL DEFAULT '{}',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX macros_owner_name ON macros (owner, name)
