"""The outbox lease round on PostgreSQL in one statement (issue 28).

Each round trip costs an instance about 0.1 ms of CPU on a busy host, half of it in the
kernel. A lease round was six of them (BEGIN, the due rows, the lease marks, their
reachability, the next due time, COMMIT), and at the rates where replies are not batched
it ran once per reply: the most round trips of any unit after the pipeline's own. The
statement below does the same work, with the same rules as `SqlOutbox.outbox_lease`:
- due, pending, not leased by a live sender, and no older pending row of its thread
  (per-chat order), oldest first, rows another instance is leasing skipped;
- `refused`: the row's address is recorded unreachable on its channel (the channel_state
  entry `prefix || address` holds a value; the address is the thread, else the recipient);
- `next_due` over the pending rows this round did not lease (their new lease is not in the
  statement's snapshot), so the dispatcher sleeps until then.
It always returns one row at least: `next_due` with NULL row columns when nothing was due.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from router.store import sql_rows as rows
from router.store.base import LeaseRound, parse_ts, ts

_LEASED_COLS = ", ".join(f"u.{c.strip()}" for c in rows.OUTBOX_COLS.split(","))
LEASE_ROUND = (
    "WITH marked AS (UPDATE outbox m SET status = 'sent', sent_at = $1, external_id = x.ext, "
    "lease_until = NULL, last_error = '' FROM unnest($5::bigint[], $6::text[]) AS x(id, ext) "
    "WHERE m.id = x.id RETURNING 1), "
    "due AS MATERIALIZED (SELECT o.id FROM outbox o WHERE o.status = 'pending' "
    "AND o.next_attempt_at <= $1 AND (o.lease_until IS NULL OR o.lease_until < $1) "
    "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status = 'pending' "
    "AND p.channel = o.channel AND p.thread_key = o.thread_key AND p.id < o.id) "
    "ORDER BY o.next_attempt_at, o.id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED), "
    "leased AS (UPDATE outbox u SET lease_until = $2, attempts = u.attempts + 1 FROM due "
    f"WHERE u.id = due.id RETURNING {_LEASED_COLS}, EXISTS (SELECT 1 FROM channel_state s "
    "WHERE s.channel = u.channel AND s.key = $4 || CASE WHEN u.thread_key <> '' "
    "THEN u.thread_key ELSE u.recipient END AND (u.thread_key <> '' OR u.recipient <> '') "
    "AND s.value IS NOT NULL AND s.value <> '') AS refused), "
    "later AS (SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until "
    "ELSE next_attempt_at END) AS next_due FROM outbox "
    "WHERE status = 'pending' AND id NOT IN (SELECT id FROM due)) "
    "SELECT leased.*, later.next_due FROM later LEFT JOIN leased ON true "
    "ORDER BY leased.next_attempt_at, leased.id")
_COLUMNS = len(rows.OUTBOX_COLS.split(","))


def lease_round(found: list[Any], limit: int) -> LeaseRound:
    """`LEASE_ROUND`'s rows as a `LeaseRound` (records: the outbox columns, then
    `refused`, then `next_due`)."""
    leased, refused = [], set()
    for record in found:
        if record[0] is None:  # the one row of a round that leased nothing
            continue
        row = rows.outbox(tuple(record[:_COLUMNS]))
        leased.append(row)
        if record[_COLUMNS]:
            refused.add(row.id)
    due = parse_ts(found[0][-1]) if found and len(leased) < limit else None
    return LeaseRound(leased, refused, due)


def lease_params(now: datetime, until: datetime, limit: int, prefix: str,
                 sent: Sequence[tuple[int, str]]) -> tuple[Any, ...]:
    return (ts(now), ts(until), limit, prefix, [row_id for row_id, _ in sent],
            [external for _, external in sent])
