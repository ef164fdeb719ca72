"""Erase a contact everywhere (GDPR art. 17) while keeping the figures of every report.

Order: files first (raw mail, downloads, the email channel's state rows), then one unit
of work that anonymises the rows. A crash between the two leaves rows that still name
the contact but whose files are gone; running the erase again finishes it (idempotent).
The reverse order could leave files nobody can find any more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from router.engine import audit
from router.engine.integrations.webhooks.hooks import forget_contact
from router.engine.privacy import files
from router.engine.privacy.export import contact_rows
from router.engine.privacy.scrub import PrivacyScrubber
from router.store.base import Store, Tx, utcnow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EraseResult:
    contact_id: int
    contact_ids: list[int]
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"contact_id": self.contact_id, "contact_ids": self.contact_ids,
                "rows": self.rows, "files": self.files}


async def erase_contact(store: Store, contact_id: int, data_dir: Path, *,
                        now: datetime | None = None,
                        by: audit.Actor = audit.SYSTEM) -> EraseResult:
    when = now or utcnow()
    family, rows = await contact_rows(store, contact_id)
    conv_ids = [c["id"] for c in rows["conversations"]]
    addresses = sorted({c["email"] for c in rows["contacts"] if c["email"]}
                       | {i["external_id"] for i in rows["identities"] if i["channel"] == "email"})
    removed = files.delete(files.message_paths(data_dir, rows["message_files"]))
    removed += files.erase_email_state(data_dir, conv_ids, addresses)

    async def unit(tx: Tx) -> dict[str, int]:
        first_time = not await tx.contact_erased(contact_id)
        counts = await tx.erase_contacts(family, when, PrivacyScrubber())
        # outgoing webhooks (issue 27): the contact's undelivered events never go out, and
        # `contact.erased` (ids only) does, once
        if webhooks := await forget_contact(tx, family, when, announce=first_time):
            counts["outbox"] = counts.get("outbox", 0) + webhooks
        # the contact's id and the counts: nothing that says who it was
        await audit.record(tx, by, "contact_erased", f"contact:{contact_id}", now=when,
                           detail={"contact_ids": family, "rows": counts, "files": removed})
        return counts

    counts = await store.write(unit)
    # ids and counts only: the log must not say who was erased
    log.info("privacy: erased contact %s (%d merged): %s; %d files", contact_id,
             len(family) - 1, ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), removed)
    return EraseResult(contact_id, family, counts, removed)
