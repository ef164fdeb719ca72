-- Audit log (issue 29): who did what, when, from where, to which object. Append-only: the
-- store offers adding and listing records and pruning those older than the retention
-- (audit.retention_days), nothing else. No message text and no contact's personal data:
-- `object` names an id ("contact:42", "agent:bob"), `detail` holds ids, counts, names of
-- changed fields or files. Written in the same unit of work as the action it records
-- wherever the action is a store write.
CREATE TABLE audit_log (
    id      {pk},
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    object  TEXT NOT NULL DEFAULT '',
    source  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id)
