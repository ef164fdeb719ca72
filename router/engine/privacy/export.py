"""Everything stored about a contact, as one JSON document (GDPR art. 15 and 20).

The contact is resolved by id, email or a channel identity; contacts merged into it are
the same person and are exported with it. Rows come from every table that can hold the
contact's data (router/store/sql_privacy.py PRIVACY_COLUMNS), files from the data dir.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from router.domain.agent_errors import NotFoundError
from router.engine import audit
from router.engine.privacy import files
from router.store.base import Store, Tx, ts, utcnow

FORMAT = "inquiry-router.contact-export/1"


async def resolve_contact(store: Store, *, contact_id: int | None = None, email: str = "",
                          phone: str = "", identity: str = "") -> int:
    """One contact id from whichever handle was given; NotFoundError if none matches."""
    async def q(tx: Tx) -> list[int]:
        if contact_id is not None:
            return [contact_id] if await tx.get_contact(contact_id) is not None else []
        if identity:
            channel, _, external = identity.partition(":")
            found = await tx.find_identity(channel, external)
            return [found.contact_id] if found else []
        return await tx.find_contact_ids(email=email, phone=phone)

    found = await store.read(q)
    what = contact_id if contact_id is not None else (identity or email or phone)
    if not found:
        raise NotFoundError(f"no contact matches {what!r}")
    if len(found) > 1:
        raise NotFoundError(f"{len(found)} contacts match {what!r}; give a contact id "
                            f"(one of {', '.join(map(str, found))})")
    return found[0]


async def contact_rows(store: Store, contact_id: int) -> tuple[list[int], dict[str, Any]]:
    async def q(tx: Tx) -> tuple[list[int], dict[str, Any]]:
        family = await tx.contact_family(contact_id)
        rows = await tx.privacy_rows(family)
        rows["message_files"] = await tx.message_files([c["id"] for c in rows["conversations"]])
        return family, rows

    return await store.read(q)


async def export_contact(store: Store, contact_id: int, data_dir: Path, *,
                         now: datetime | None = None,
                         by: audit.Actor = audit.SYSTEM) -> dict[str, Any]:
    """The document; the export is recorded in the audit log once it is made."""
    when = now or utcnow()
    family, rows = await contact_rows(store, contact_id)
    paths = files.message_paths(data_dir, rows.pop("message_files"))
    doc = {"format": FORMAT, "exported_at": ts(when), "contact_id": contact_id,
           "contact_ids": family, "tables": rows, "files": files.describe(data_dir, paths)}
    await store.write(lambda tx: audit.record(
        tx, by, "contact_exported", f"contact:{contact_id}", now=when,
        detail={"contact_ids": family}))
    return doc
