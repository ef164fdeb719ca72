-- A new contact's search document was built twice: by the contact row's trigger and again
-- by its first identity's (the pipeline writes both in one statement, and both triggers
-- see both rows). The identity's trigger alone builds it now; the store builds the
-- document of a contact it creates without an identity (SqlSearch.create_contact: the
-- web chat's pre-chat form and sign-ins add theirs in a statement of their own). A
-- changed or deleted contact keeps its trigger. SQLite's file of this version does the
-- same for its FTS5 index.
DROP TRIGGER contacts_search ON contacts;
CREATE TRIGGER contacts_search AFTER DELETE OR UPDATE OF display_name, email, phone
    ON contacts FOR EACH ROW EXECUTE FUNCTION ir_contact_search();

-- A new message's document was built twice too: when the message went in, stemmed as
-- 'simple' (a new conversation's language is decided by the rules after its first
-- message is stored), and again when the conversation's language was saved. It is built
-- at COMMIT now (a deferred trigger), from the row and its conversation as the unit left
-- them: once, in the conversation's language; the language trigger then finds nothing to
-- redo. Edits, moves and deletes keep the immediate trigger of 0013.
DROP TRIGGER messages_search ON messages;
CREATE TRIGGER messages_search AFTER DELETE OR UPDATE OF text, language, conversation_id
    ON messages FOR EACH ROW EXECUTE FUNCTION ir_message_search();

CREATE FUNCTION ir_message_search_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.author_kind NOT IN ('customer', 'agent') THEN
        RETURN NULL;  -- as 0013: the bot's and the system's lines are not indexed
    END IF;
    -- the row as it is at COMMIT (deleted by the same unit: nothing to index)
    INSERT INTO message_search (message_id, conversation_id, doc)
    SELECT m.id, m.conversation_id,
           to_tsvector(ir_search_config(COALESCE(NULLIF(m.language, ''), c.language, '')),
                       ir_search_text(m.text))
      FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id
     WHERE m.id = NEW.id
    ON CONFLICT (message_id) DO UPDATE
        SET conversation_id = EXCLUDED.conversation_id, doc = EXCLUDED.doc;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER messages_search_new AFTER INSERT ON messages
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ir_message_search_new();
