"""What the sync asks of a CRM's client (one module per vendor implements it)."""

from __future__ import annotations

from typing import Any, Protocol

from router.domain.errors import ChannelError


class RemoteGone(ChannelError):
    """The CRM has no record under an id we remembered (deleted or merged there)."""


class CrmClient(Protocol):
    """Synchronous calls, run on the CRM's worker threads; failures raise ChannelError."""

    vendor: str

    def find_contact(self, lookup: dict[str, str]) -> str | None:
        """The id of a contact with any of these property values, or None."""

    def create_contact(self, properties: dict[str, Any]) -> str:
        """Create a contact; its id (the existing one's, if the CRM says it has it)."""

    def log_activity(self, contact_id: str, properties: dict[str, Any]) -> str:
        """Log a resolved conversation on the contact; the activity's id. Raises
        RemoteGone if the contact is no longer there."""
