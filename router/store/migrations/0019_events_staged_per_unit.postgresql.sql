-- One staged row per unit, not per event (issue 28). With a row per event the commit
-- trigger found the unit's rows by scanning `events_staged`, and under load that table
-- held many pages of rows other commits had deleted: scanning them took 40 % of the
-- commit's CPU, a tenth of PostgreSQL's (perf, three instances at 200 a second).
-- Now the unit's events travel as column arrays in one row, the row-level trigger reads
-- them from NEW, and deletes that row by its key: no scan.

DROP TRIGGER events_commit ON events_staged;
DROP FUNCTION ir_events_commit();
DROP TABLE events_staged;

CREATE UNLOGGED TABLE events_staged (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_ids BIGINT[] NOT NULL,  -- the unit's events, in its order
    kinds            TEXT[] NOT NULL,
    actors           TEXT[] NOT NULL,
    data             TEXT[] NOT NULL,
    created_at       TEXT[] NOT NULL
);

-- Runs at the unit's commit, once per staged row (a unit stages one). Ids are taken under
-- the lock in the unit's order; the lock is released after the commit is visible, so the
-- next unit's ids come after these are readable.
CREATE FUNCTION ir_events_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(446687200);  -- router/store/postgres_tx.py EVENTS_LOCK
    INSERT INTO events (conversation_id, kind, actor, data, created_at)
    SELECT e.c, e.k, e.a, e.d, e.t
    FROM unnest(NEW.conversation_ids, NEW.kinds, NEW.actors, NEW.data, NEW.created_at)
         WITH ORDINALITY AS e(c, k, a, d, t, n)
    ORDER BY e.n;
    DELETE FROM events_staged WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER events_commit AFTER INSERT ON events_staged
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ir_events_commit();
