"""PostgreSQL statements that do several statements' work in one round trip (issue 28).

A round trip costs an instance about 0.1 ms of CPU on a busy host, half of it in the
kernel's loopback TCP, and PostgreSQL as much again; the processing of one message had
been 19 of them. Data-modifying CTEs let one statement carry what would have been
several, as long as none of them needs to read another's changes (they all see the
statement's snapshot; they read each other's new ids only through RETURNING):
- `insert_then_sql`: a row and what belongs to it (`SqlBase._insert_then`);
- `exec_then_lock_sql`: the inbox take and the lookups' advisory locks, in that order;
- `finish_sql`: writes deferred to the unit's end (`SqlBase._exec_later`) with the
  unit's events (staged; their ids come at commit, migration 0018), the NOTIFY and the
  lease of the unit's reply (`PgTx.outbox_claim`).
Our SQL has no `?` inside literals, so placeholders are renumbered by position.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator

from router.store.sql_outbox import OUTBOX_CLAIM

# The unit's events, staged as one row of column arrays: a deferred trigger moves them to
# `events` inside COMMIT, under the events lock, in the arrays' order, so ids become
# visible in id order (migrations 0018, 0019).
_EVENTS = ("staged AS (INSERT INTO events_staged (conversation_ids, kinds, actors, data, "
           "created_at) VALUES ($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]))")


def _number(statement: str, counter: Iterator[int], first: str | None = None) -> str:
    """`?` to the counter's next `$n`; the first one to `first` when given."""
    def place(_: re.Match[str]) -> str:
        nonlocal first
        if first is not None:
            taken, first = first, None
            return taken
        return f"${next(counter)}"
    return re.sub(r"\?", place, statement)


@functools.lru_cache(maxsize=1024)
def to_dollar(sql: str) -> str:
    """`?` placeholders to `$1..$n` (our SQL has no `?` inside literals)."""
    return _number(sql, itertools.count(1))


@functools.lru_cache(maxsize=256)
def insert_then_sql(sql: str, then: tuple[str, ...]) -> str:
    """The INSERT in a CTE returning the new id, then each following statement as a CTE
    whose first `?` is that id (each runs once, read by the final SELECT or not)."""
    counter = itertools.count(1)
    ctes = [f"new AS ({_number(sql, counter)} RETURNING id)"]
    ctes += [f"then{i} AS ({_number(statement, counter, '(SELECT id FROM new)')})"
             for i, statement in enumerate(then)]
    return f"WITH {', '.join(ctes)} SELECT id FROM new"


@functools.lru_cache(maxsize=64)
def exec_then_lock_sql(sql: str) -> str:
    """`sql` (an UPDATE/DELETE/INSERT), then advisory locks on the names given as two
    arrays after its parameters (name, group), by group and then hash: the order in which
    separate `_lock_keys` statements, group by group, would take them. The answer is the
    number of rows `sql` changed; the second operand only makes the locks be taken after."""
    n = sql.count("?")
    return (f"WITH changed AS ({to_dollar(sql)} RETURNING 1), "
            "locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT g, "
            f"hashtextextended(k, 0) AS h FROM unnest(${n + 1}::text[], ${n + 2}::int[]) "
            "AS x(k, g) ORDER BY g, h) AS s) "
            "SELECT (SELECT count(*) FROM changed) + 0 * (SELECT count(*) FROM locked)")


def _writes(later: tuple[str, ...], counter: Iterator[int]) -> tuple[list[str], str]:
    """The deferred writes as CTEs, and a FROM list that has read all of them."""
    ctes = [f"w{i} AS ({_number(sql, counter)} RETURNING 1)" for i, sql in enumerate(later)]
    done = ", ".join(f"(SELECT count(*) FROM w{i}) AS d{i}" for i in range(len(later)))
    return ctes, done


@functools.lru_cache(maxsize=128)
def later_sql(later: tuple[str, ...]) -> str:
    """Deferred writes alone (a statement of the unit needs them first), in one statement."""
    ctes, done = _writes(later, itertools.count(1))
    return f"WITH {', '.join(ctes)} SELECT 1 FROM {done}"


@functools.lru_cache(maxsize=128)
def finish_sql(later: tuple[str, ...], events: bool, notify: bool, claim: bool = False) -> str:
    """The unit's last statement: the deferred writes, the events staged (with `events`),
    the NOTIFY (with `notify`), the reply's lease (with `claim`: `OUTBOX_CLAIM`, whose
    rows, at most one, follow the first column; a row of NULLs when it leased none).
    Parameters: with events the five event column arrays; with notify the channel and
    payload; then the deferred writes' parameters in order; then the claim's."""
    first = 1 + (5 if events else 0)
    counter = itertools.count(first + (2 if notify else 0))
    ctes, done = _writes(later, counter)
    if events:
        ctes.append(_EVENTS)
    if claim:
        ctes.append(f"claimed AS ({_number(OUTBOX_CLAIM, counter)})")
    select = f"SELECT pg_notify(${first}, ${first + 1})" if notify else "SELECT 1"
    if claim:
        select += ", claimed.*"
    after = f" FROM {done}" if later else (" FROM (SELECT 1) AS one" if claim else "")
    if claim:
        after += " LEFT JOIN claimed ON true"
    prefix = f"WITH {', '.join(ctes)} " if ctes else ""
    return f"{prefix}{select}{after}"
