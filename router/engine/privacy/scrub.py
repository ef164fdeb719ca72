"""What erasure keeps: an allow-list of non-personal fields, everything else goes.

An allow-list, not a deny-list, because new event fields appear with every feature and a
forgotten one must fail safe (dropped), not leak (kept). The fields kept are the ones
reports read (router/web/reports/compute.py) plus ids and enums that identify nobody.
"""

from __future__ import annotations

from typing import Any

#: event data keys that never hold personal data (ids, enums, times, queue and agent names)
EVENT_KEYS = frozenset({
    "from", "to", "reason", "queue", "agent", "kind", "score", "via", "first_response",
    "message_id", "channel", "due", "assignee", "event", "version", "actions", "team",
    "from_queue", "from_agent", "to_queue", "to_agent", "until", "level", "after",
})
#: CSAT survey bookkeeping on the conversation (reports count surveys sent from it)
CSAT_META = "bots.csat"
CSAT_KEYS = frozenset({"sent_at", "expires", "rated", "rated_at", "via", "commented"})
ATTACHMENT_KEYS = frozenset({"kind", "mime", "size"})


class PrivacyScrubber:
    """The `router.store.base.Scrubber` that erasure hands to the store."""

    def event(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in data.items() if k in EVENT_KEYS and _plain(v)}
        if data.get("comment") or data.get("comment_erased"):
            kept["comment_erased"] = True  # the comment count survives, the words do not
        if kind == "tags_changed":  # tags are labels the team chose, not the contact's data
            kept |= {k: data[k] for k in ("from", "to") if k in data}
        return kept

    def metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        survey = metadata.get(CSAT_META)
        if not isinstance(survey, dict):
            return {}
        return {CSAT_META: {k: v for k, v in survey.items() if k in CSAT_KEYS}}

    def attachments(self, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in a.items() if k in ATTACHMENT_KEYS}
                for a in attachments if isinstance(a, dict)]


def _plain(value: Any) -> bool:
    """Scalars and lists of scalars only: nested objects (traces, payloads) may hold text."""
    if isinstance(value, list):
        return all(isinstance(v, str | int | float | bool) or v is None for v in value)
    return isinstance(value, str | int | float | bool) or value is None
