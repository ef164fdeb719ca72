-- Agent console (issue 7): a password hash per agent for signing in to /console.
-- argon2id (router/console/passwords.py); NULL means "no password: sign in with a token".
ALTER TABLE agents ADD COLUMN password_hash TEXT;
