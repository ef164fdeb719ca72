-- CRM sync (issue 27). `crm_cursors`: the last event each CRM's follower has turned into
-- outbox rows (one row per CRM, locked while a follower works, so two instances never
-- queue one resolution twice). `crm_contacts`: the record a contact is in each CRM, so
-- the next conversation of that customer is logged on it without a search (a CRM's search
-- index may lag its writes by seconds, and a second search could create a duplicate).
CREATE TABLE crm_cursors (
    crm         TEXT PRIMARY KEY,
    event_id    BIGINT NOT NULL
);

CREATE TABLE crm_contacts (
    crm         TEXT NOT NULL,
    contact_id  BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    remote_id   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (crm, contact_id)
);
CREATE INDEX crm_contacts_remote ON crm_contacts(crm, remote_id)
