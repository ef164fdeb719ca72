-- The bots' per-contact rate limit reads the contact's bot replies of the last day before
-- every decision. Through messages_conversation it read every message the contact ever
-- exchanged (all of a long-lived customer's history, per message); this index holds
-- only bot replies, so the read is the few rows of the window.
CREATE INDEX messages_bot_replies ON messages(conversation_id, created_at, author_kind) WHERE author_kind = 'bot';
