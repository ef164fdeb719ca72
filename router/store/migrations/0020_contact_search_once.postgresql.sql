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
