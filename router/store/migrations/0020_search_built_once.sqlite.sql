-- A new contact's search document was built twice, by two triggers: once when the contact
-- row went in, again when its first identity did (the pipeline writes both in one unit).
-- And a statement that fires a trigger opens a statement savepoint, at which FTS5 writes
-- its pending terms out as a segment (migration 0013): two segments per new contact, 8 %
-- of the service's CPU at 800 new Telegram conversations a second (issue 28). The store
-- now indexes a contact when it creates it or gives it an identity
-- (SqlSearch.create_contact, create_identity), once, in the same unit; updates and
-- deletes keep their triggers (rare, and whichever path they take).
DROP TRIGGER contacts_fts_insert;
DROP TRIGGER identities_fts_insert;
-- (PostgreSQL's file of this version also builds a new message's document once; here the
-- store's insert indexes messages already, in one FTS5 index for every language.)
