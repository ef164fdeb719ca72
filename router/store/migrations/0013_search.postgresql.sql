-- Search (issue 24), PostgreSQL: tsvector documents in side tables, kept by triggers, so
-- every write that changes a message, a contact or an identity updates them in its own
-- transaction, whatever path it took (pipeline, agents, edits, erasure, retention,
-- merges, migrate --to). Side tables rather than columns: messages and contacts keep the
-- same columns on both backends (migrate --from/--to copies them column for column).
-- A message is stemmed with its conversation's language where PostgreSQL has a
-- configuration for it (swedish, finnish, norwegian, english; 'simple' otherwise), and
-- again when the conversation's language becomes known (after its first message).
-- What customers and agents wrote is indexed (notes too); the bot's and the system's lines
-- are the config's canned texts, in every conversation: searching them finds noise.
-- SQLite's own file of this version (0013_search.sqlite.sql) uses FTS5.

CREATE FUNCTION ir_search_config(lang TEXT) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE split_part(lower(lang), '-', 1)
        WHEN 'sv' THEN 'swedish'::regconfig
        WHEN 'fi' THEN 'finnish'::regconfig
        WHEN 'nb' THEN 'norwegian'::regconfig
        WHEN 'no' THEN 'norwegian'::regconfig
        WHEN 'nn' THEN 'norwegian'::regconfig
        WHEN 'en' THEN 'english'::regconfig
        ELSE 'simple'::regconfig END
$$;

-- the parser keeps "ulla@example.se", "example.se" or "v_abc" whole; split them as
-- SQLite does, so both backends find the same words
CREATE FUNCTION ir_search_text(body TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(body, '[@._/:+=#~-]+', ' ', 'g')
$$;

-- contacts' documents (names, addresses) are folded: "aberg" finds "Åberg"; message text
-- is not, the stemmers need its letters (Finnish endings are -ssä, -llä, ...)
CREATE FUNCTION ir_search_fold(body TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(lower(ir_search_text(body)), 'àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ', 'aaaaaaaceeeeiiiinoooooouuuuyy')
$$;

CREATE TABLE message_search (
    message_id      BIGINT PRIMARY KEY,
    conversation_id BIGINT NOT NULL,
    doc             tsvector NOT NULL
);
CREATE INDEX message_search_doc ON message_search USING gin (doc) WITH (fastupdate = off);
CREATE INDEX message_search_conversation ON message_search (conversation_id);

CREATE FUNCTION ir_message_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM message_search WHERE message_id = OLD.id;
        RETURN NULL;
    END IF;
    IF NEW.author_kind NOT IN ('customer', 'agent') THEN
        RETURN NULL;  -- the bot's and the system's lines: canned texts, noise in a search
    END IF;
    INSERT INTO message_search (message_id, conversation_id, doc)
    VALUES (NEW.id, NEW.conversation_id, to_tsvector(ir_search_config(COALESCE(
                NULLIF(NEW.language, ''),
                (SELECT c.language FROM conversations c WHERE c.id = NEW.conversation_id), '')),
            ir_search_text(NEW.text)))
    ON CONFLICT (message_id) DO UPDATE
        SET conversation_id = EXCLUDED.conversation_id, doc = EXCLUDED.doc;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_search AFTER INSERT OR DELETE OR UPDATE OF text, language, conversation_id
    ON messages FOR EACH ROW EXECUTE FUNCTION ir_message_search();

-- a conversation's language is usually decided after its first message was stored
CREATE FUNCTION ir_conversation_language() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE message_search s
       SET doc = to_tsvector(ir_search_config(NEW.language), ir_search_text(m.text))
      FROM messages m
     WHERE m.conversation_id = NEW.id AND m.language = '' AND s.message_id = m.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversations_search_language AFTER UPDATE OF language ON conversations
    FOR EACH ROW WHEN (OLD.language IS DISTINCT FROM NEW.language)
    EXECUTE FUNCTION ir_conversation_language();

INSERT INTO message_search (message_id, conversation_id, doc)
SELECT m.id, m.conversation_id,
       to_tsvector(ir_search_config(COALESCE(NULLIF(m.language, ''), c.language)),
                   ir_search_text(m.text))
  FROM messages m JOIN conversations c ON c.id = m.conversation_id
 WHERE m.author_kind IN ('customer', 'agent');

-- contacts: one document per contact (name, email, phone as written and as digits, and
-- every channel identity: external id, username, display name)
CREATE TABLE contact_search (
    contact_id BIGINT PRIMARY KEY,
    doc        tsvector NOT NULL
);
CREATE INDEX contact_search_doc ON contact_search USING gin (doc) WITH (fastupdate = off);

CREATE FUNCTION ir_contact_doc(cid BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_search (contact_id, doc)
    SELECT c.id, to_tsvector('simple', ir_search_fold(concat_ws(' ',
               c.display_name, c.email, c.phone, p.digits, right(p.digits, 9),
               (SELECT string_agg(concat_ws(' ', i.external_id, i.username, i.display_name), ' ')
                  FROM identities i WHERE i.contact_id = c.id))))
      FROM contacts c,
           LATERAL (SELECT ltrim(regexp_replace(c.phone, '[^0-9]', '', 'g'), '0') AS digits) p
     WHERE c.id = cid
    ON CONFLICT (contact_id) DO UPDATE SET doc = EXCLUDED.doc;
END
$$;

CREATE FUNCTION ir_contact_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'contacts' THEN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM contact_search WHERE contact_id = OLD.id;
        ELSE
            PERFORM ir_contact_doc(NEW.id);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM ir_contact_doc(OLD.contact_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.contact_id <> OLD.contact_id) THEN
        PERFORM ir_contact_doc(NEW.contact_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contacts_search AFTER INSERT OR DELETE OR UPDATE OF display_name, email, phone
    ON contacts FOR EACH ROW EXECUTE FUNCTION ir_contact_search();
CREATE TRIGGER identities_search AFTER INSERT OR DELETE OR UPDATE ON identities
    FOR EACH ROW EXECUTE FUNCTION ir_contact_search();

SELECT ir_contact_doc(id) FROM contacts;

-- TRUNCATE (migrate --to --force clears the target) fires no row triggers
CREATE FUNCTION ir_search_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'messages' THEN
        DELETE FROM message_search;
    ELSE
        DELETE FROM contact_search;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_search_truncated AFTER TRUNCATE ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION ir_search_truncated();
CREATE TRIGGER contacts_search_truncated AFTER TRUNCATE ON contacts
    FOR EACH STATEMENT EXECUTE FUNCTION ir_search_truncated();

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
