-- Contacts by email (case-insensitive) and by phone (issue 24): the contact view lists
-- other contacts with the same email or phone ("similar", a merge to consider) every time
-- an agent opens a conversation, and a signed-in web chat customer is found by email.
CREATE INDEX contacts_email_lower ON contacts (LOWER(email));
CREATE INDEX contacts_phone ON contacts (phone)
