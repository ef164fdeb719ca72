-- Search (issue 24), SQLite: FTS5 indexes kept in the transaction of every write that
-- changes a message, a contact or an identity: triggers, whatever path the change took
-- (edits, erasure, retention, merges), and the store's insert for new messages (below).
-- Tokens: unicode61 without diacritics ("fraga" finds "fråga"), punctuation splits
-- ("ulla@example.se" is ulla, example, se). Queries are words ANDed, each a prefix
-- (router/store/sql_search.py): no phrases, no ranking, so the index keeps only which
-- rows hold a token (detail=none, columnsize=0), which halves its cost per message.
-- What customers and agents wrote is indexed (notes too); the bot's and the system's
-- lines are the config's canned texts, in every conversation: searching them finds noise.
-- PostgreSQL's own file of this version (0013_search.postgresql.sql) uses tsvector.

-- message text: an external-content index over messages(text)
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', detail=none, columnsize=0);
INSERT INTO messages_fts(rowid, text)
    SELECT id, text FROM messages WHERE author_kind IN ('customer', 'agent');
-- New messages are indexed by the store's insert (SqlSearch.insert_message), in the same
-- unit of work, not by a trigger: a statement that fires a trigger opens a statement
-- savepoint, and FTS5 writes its pending terms out as a new segment at every savepoint,
-- so a trigger cost a segment (and its merges) per message instead of one per commit
-- (three times the cost). Edits and deletes are rare: triggers keep the index right
-- whichever path they take. The same condition everywhere: deleting a row the index
-- never held would corrupt it.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.author_kind IN ('customer', 'agent') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN old.author_kind IN ('customer', 'agent') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;

-- contacts: one document per contact (name, email, phone as written and as digits, and
-- every channel identity: external id, username, display name); rowid = contact id
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    body, tokenize='unicode61 remove_diacritics 2', detail=none, columnsize=0);
CREATE VIEW contact_search_docs AS
SELECT c.id AS contact_id,
       c.display_name || ' ' || c.email || ' ' || c.phone || ' '
       || ltrim(replace(replace(replace(replace(replace(replace(c.phone, ' ', ''), '-', ''), '+', ''),
                 '(', ''), ')', ''), '.', ''), '0') || ' '
       || substr(ltrim(replace(replace(replace(replace(replace(replace(c.phone, ' ', ''), '-', ''), '+', ''),
                 '(', ''), ')', ''), '.', ''), '0'), -9) || ' '
       || COALESCE((SELECT group_concat(i.external_id || ' ' || i.username || ' '
                                        || i.display_name, ' ')
                    FROM identities i WHERE i.contact_id = c.id), '') AS body
FROM contacts c;
INSERT INTO contacts_fts(rowid, body) SELECT contact_id, body FROM contact_search_docs;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, body)
        SELECT contact_id, body FROM contact_search_docs WHERE contact_id = new.id;
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF display_name, email, phone ON contacts BEGIN
    DELETE FROM contacts_fts WHERE rowid = new.id;
    INSERT INTO contacts_fts(rowid, body)
        SELECT contact_id, body FROM contact_search_docs WHERE contact_id = new.id;
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.id;
END;
CREATE TRIGGER identities_fts_insert AFTER INSERT ON identities BEGIN
    DELETE FROM contacts_fts WHERE rowid = new.contact_id;
    INSERT INTO contacts_fts(rowid, body)
        SELECT contact_id, body FROM contact_search_docs WHERE contact_id = new.contact_id;
END;
CREATE TRIGGER identities_fts_delete AFTER DELETE ON identities BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.contact_id;
    INSERT INTO contacts_fts(rowid, body)
        SELECT contact_id, body FROM contact_search_docs WHERE contact_id = old.contact_id;
END;
CREATE TRIGGER identities_fts_update AFTER UPDATE ON identities BEGIN
    DELETE FROM contacts_fts WHERE rowid IN (old.contact_id, new.contact_id);
    INSERT INTO contacts_fts(rowid, body)
        SELECT contact_id, body FROM contact_search_docs
        WHERE contact_id IN (old.contact_id, new.contact_id);
END;

-- the mentions view reads internal notes only
CREATE INDEX messages_notes ON messages(conversation_id) WHERE internal = 1;

-- views an agent saved: a name and the search's filters (JSON), per agent
CREATE TABLE saved_views (
    id         {pk},
    agent_id   BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    filters    TEXT NOT NULL DEFAULT '{}',
    position   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (agent_id, name)
);
