-- Events get their ids at commit (issue 28), PostgreSQL only. A stream resumes "after
-- event id N", so ids must become visible in id order: units insert their events under
-- one advisory lock held until their commit ends. The lock used to be taken by the
-- unit's last statement and held through its COMMIT round trip: with three instances on
-- a busy host, fifteen backends at a time waited on it, each holder waiting for its
-- instance to get the CPU back and send COMMIT. Now the unit's last statement stages its
-- events here, and a deferred constraint trigger, which runs inside COMMIT, takes the lock
-- and moves them to `events`: the lock is held only for the server's own part of the
-- commit. Staged rows live no longer than their transaction (a unit sees only its own
-- uncommitted ones), so the table is unlogged: nothing in it survives a crash, and
-- nothing in it needs to.

CREATE UNLOGGED TABLE events_staged (
    ord             INTEGER NOT NULL,  -- the event's place in its unit, from 1
    conversation_id BIGINT,
    kind            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

-- Runs once per unit, at its commit (for its first staged row). The rows it sees are the
-- unit's own: others' are uncommitted, or deleted by the commit that moved them. Ids are
-- taken under the lock in the unit's order; the lock is released after the commit is
-- visible, so the next unit's ids come after these are readable.
CREATE FUNCTION ir_events_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(446687200);  -- router/store/postgres_tx.py EVENTS_LOCK
    INSERT INTO events (conversation_id, kind, actor, data, created_at)
    SELECT conversation_id, kind, actor, data, created_at FROM events_staged ORDER BY ord;
    DELETE FROM events_staged;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER events_commit AFTER INSERT ON events_staged
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.ord = 1)
    EXECUTE FUNCTION ir_events_commit();
