-- conversation_idle rules: which idle level already fired for the customer's last message.
-- A new customer message changes last_customer_at, which re-arms every level.
ALTER TABLE conversations ADD COLUMN idle_since TEXT;
ALTER TABLE conversations ADD COLUMN idle_level REAL NOT NULL DEFAULT 0;
