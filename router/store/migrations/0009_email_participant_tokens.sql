-- Email reply tokens (issue 23): a token is now a pinned thread key ("pin:" prefix, see
-- router.model.PINNED_KEY_PREFIX) that only the conversation which handed it out holds.
-- A plain "[#42]"/"support+c42@" token of a mail sent before this version is trusted only
-- from a participant of conversation 42: its recipient gets the key for that pair now, so
-- old tokens keep working for the people they were sent to and for nobody else. (The
-- "token:c42" rows of old versions stay, unused: they went to whichever conversation a
-- mail carrying the token landed in, whoever sent it.)
INSERT INTO thread_keys (channel, key, conversation_id)
SELECT channel, 'pin:token:c' || CAST(id AS TEXT) || '|' || lower(recipient), id
FROM conversations
WHERE channel = 'email' AND recipient LIKE '%@%'
ON CONFLICT DO NOTHING
