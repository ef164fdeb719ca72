"""HubSpot through `hubspot-api-client` (CRM v3): contacts search and create, notes.

Synchronous: called on the gate's worker threads. HubSpot refuses a second contact with an
email it already has (409, "Contact already exists. Existing ID: 123"); that answer is
taken as "found", which covers its search index lagging a create by a few seconds.
"""

from __future__ import annotations

import json
import re
from typing import Any

from router.domain.errors import ChannelError, ChannelRateLimited
from router.engine.integrations.crm.client import RemoteGone
from router.engine.integrations.crm.gate import retry_after
from router.engine.integrations.crm.settings import HubSpotSettings

NOTE_TO_CONTACT = 202  # HubSpot-defined association type: note -> contact
DEFAULT_WAIT = 10.0  # HubSpot's rate limits count per 10 s window
_EXISTING = re.compile(r"Existing ID:\s*(\d+)")


class HubSpotClient:
    vendor = "hubspot"

    def __init__(self, settings: HubSpotSettings) -> None:
        from hubspot import HubSpot  # imported only when HubSpot is configured

        client = HubSpot(access_token=settings.access_token, host=settings.base_url)
        # each property of the discovery builds a new API client (and connection pool)
        self._contacts = client.crm.contacts.basic_api
        self._search = client.crm.contacts.search_api
        self._notes = client.crm.objects.notes.basic_api
        self.timeout = settings.timeout.total_seconds()

    def find_contact(self, lookup: dict[str, str]) -> str | None:
        from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest

        groups = [FilterGroup(filters=[Filter(property_name=prop, operator="EQ", value=value)])
                  for prop, value in lookup.items()]  # groups are ORed: email or phone
        request = PublicObjectSearchRequest(filter_groups=groups, properties=list(lookup),
                                            limit=1)
        page = self._call(self._search.do_search, public_object_search_request=request)
        results = page.results or []
        return str(results[0].id) if results else None

    def create_contact(self, properties: dict[str, Any]) -> str:
        from hubspot.crm.contacts import SimplePublicObjectInputForCreate

        body = SimplePublicObjectInputForCreate(properties=_strings(properties), associations=[])
        try:
            created = self._call(self._contacts.create, simple_public_object_input_for_create=body)
        except _Conflict as exc:
            return exc.existing_id
        return str(created.id)

    def log_activity(self, contact_id: str, properties: dict[str, Any]) -> str:
        from hubspot.crm.objects.notes import (
            AssociationSpec,
            PublicAssociationsForObject,
            PublicObjectId,
            SimplePublicObjectInputForCreate,
        )

        body = SimplePublicObjectInputForCreate(
            properties=_strings(properties),
            associations=[PublicAssociationsForObject(
                to=PublicObjectId(id=contact_id),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED",
                                       association_type_id=NOTE_TO_CONTACT)])])
        try:
            note = self._call(self._notes.create, simple_public_object_input_for_create=body)
        except ChannelError as exc:
            if exc.reason.startswith("HubSpot HTTP 404"):
                raise RemoteGone(exc.reason) from None
            raise
        return str(note.id)

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs, _request_timeout=self.timeout)
        except Exception as exc:
            raise _failure(exc) from None


class _Conflict(ChannelError):
    def __init__(self, existing_id: str) -> None:
        super().__init__("HubSpot HTTP 409: contact exists", permanent=False)
        self.existing_id = existing_id


def _strings(properties: dict[str, Any]) -> dict[str, str]:
    """HubSpot takes property values as strings (booleans as true/false)."""
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in properties.items()}


def _message(body: Any) -> str:
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        return ""
    return str(data.get("message", ""))[:300] if isinstance(data, dict) else ""


def _failure(exc: Exception) -> ChannelError:
    """A client exception as the outbox's error: permanent, retried, or rate limited."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int):  # urllib3: refused, reset, timed out
        return ChannelError(f"cannot reach HubSpot: {exc.__class__.__name__}")
    message = _message(getattr(exc, "body", None))
    if status == 429:
        headers = getattr(exc, "headers", None) or {}
        return ChannelRateLimited("HubSpot HTTP 429",
                                  retry_after(headers.get("Retry-After"), DEFAULT_WAIT))
    if status == 409 and (m := _EXISTING.search(message)):
        return _Conflict(m.group(1))
    reason = f"HubSpot HTTP {status}" + (f": {message}" if message else "")
    # a refused request (bad property, bad value) fails again unchanged; an expired or
    # revoked token, or HubSpot's own trouble, may pass later (then dead, for outbox retry)
    return ChannelError(reason, permanent=status in (400, 422))
