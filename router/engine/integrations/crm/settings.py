"""`integrations.crm` in config.yaml: one block per CRM, with its field mapping.

Values are validated by pydantic when the config loads (a mapping entry's source is
parsed there, so an unknown one is reported at its own line); `problems` then checks what
pydantic cannot see per value: property names as the CRM spells them, properties we set
ourselves, that a contact can be found at all, and plain-text addresses off this machine.
Every problem is located at file:line:column like the rest of the config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from router.configuration.durations import Duration
from router.configuration.yamlsrc import Source
from router.domain.errors import Problem
from router.engine.integrations.crm.mapping import FieldSource, parse_source


def _source_or_none(raw: Any) -> FieldSource | None:
    return None if raw is None else parse_source(raw)


Mapped = Annotated[FieldSource | None, PlainValidator(_source_or_none)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrmFields(_Strict):
    #: CRM contact property -> source; merged over the CRM's defaults (`null` drops one)
    contact: dict[str, Mapped] = {}
    #: CRM activity (HubSpot note, Salesforce Task) property -> source; merged likewise
    activity: dict[str, Mapped] = {}


class CrmCommon(_Strict):
    #: where the client sends its requests; a stand-in or proxy (http only on loopback)
    api_base: str = ""
    #: requests per second this CRM is sent at most (a 429's Retry-After pauses it too)
    rate_limit: float = Field(4.0, gt=0, le=1000)
    #: syncs in flight at once: the worker threads, and the outbox lanes rows queue in
    concurrency: int = Field(2, ge=1, le=16)
    #: one HTTP request's limit; keep it well under outbox.lease
    timeout: Duration = timedelta(seconds=20)
    #: the transcript link logged with each activity; {id} is the conversation id
    transcript_url: str = ""
    fields: CrmFields = CrmFields()

    vendor: ClassVar[str] = ""
    default_api_base: ClassVar[str] = ""
    property_name: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
    default_contact: ClassVar[dict[str, str]] = {}
    default_activity: ClassVar[dict[str, Any]] = {}
    reserved_activity: ClassVar[frozenset[str]] = frozenset()

    def contact_fields(self) -> dict[str, FieldSource | None]:
        return _merged(self.default_contact, self.fields.contact)

    def activity_fields(self) -> dict[str, FieldSource | None]:
        return _merged(self.default_activity, self.fields.activity)

    @property
    def base_url(self) -> str:
        return (self.api_base or self.default_api_base).rstrip("/")


def _merged(defaults: Mapping[str, Any], given: Mapping[str, FieldSource | None]
            ) -> dict[str, FieldSource | None]:
    out: dict[str, FieldSource | None] = {k: parse_source(v) for k, v in defaults.items()}
    out.update(given)
    return {k: v for k, v in out.items() if v is not None}


class HubSpotSettings(CrmCommon):
    #: a private app's access token (scopes crm.objects.contacts.read and .write)
    access_token: str = Field(min_length=1)

    vendor: ClassVar[str] = "hubspot"
    default_api_base: ClassVar[str] = "https://api.hubapi.com"
    property_name: ClassVar[re.Pattern[str]] = re.compile(r"[a-z][a-z0-9_]*")
    default_contact: ClassVar[dict[str, str]] = {
        "email": "contact.email", "phone": "contact.phone",
        "firstname": "contact.first_name", "lastname": "contact.last_name"}
    default_activity: ClassVar[dict[str, Any]] = {
        "hs_timestamp": "conversation.resolved_at", "hs_note_body": "conversation.summary"}


class SalesforceSettings(CrmCommon):
    #: the org's address, e.g. https://acme.my.salesforce.com
    instance_url: str = Field(min_length=1)
    #: an OAuth access token; or client_id and client_secret of a connected app with
    #: the client credentials flow (tokens are then fetched and renewed by the client)
    access_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    api_version: str = Field("59.0", pattern=r"^\d{2,3}\.0$")
    rate_limit: float = Field(10.0, gt=0, le=1000)

    vendor: ClassVar[str] = "salesforce"
    default_contact: ClassVar[dict[str, str]] = {
        "Email": "contact.email", "Phone": "contact.phone",
        "FirstName": "contact.first_name", "LastName": "contact.last_name"}
    default_activity: ClassVar[dict[str, Any]] = {
        "Subject": "conversation.subject", "Description": "conversation.summary",
        "ActivityDate": "conversation.resolved_date", "Status": {"value": "Completed"},
        "TaskSubtype": {"value": "Task"}}
    reserved_activity: ClassVar[frozenset[str]] = frozenset({"WhoId"})

    @property
    def base_url(self) -> str:
        return (self.api_base or self.instance_url).rstrip("/")


class CrmSettings(_Strict):
    hubspot: HubSpotSettings | None = None
    salesforce: SalesforceSettings | None = None

    def configured(self) -> list[CrmCommon]:
        return [s for s in (self.hubspot, self.salesforce) if s is not None]


class IntegrationsSettings(_Strict):
    crm: CrmSettings = CrmSettings()


Kind = Literal["contact", "activity"]
_LOCAL = ("127.0.0.1", "localhost", "::1")


def problems(source: Source, crm: CrmSettings) -> list[Problem]:
    """What the models let through but the CRMs would refuse, located."""
    found: list[Problem] = []
    for settings in crm.configured():
        at: tuple[str | int, ...] = ("integrations", "crm", settings.vendor)
        found.extend(_address_problems(source, settings, at))
        for kind in ("contact", "activity"):
            for prop in getattr(settings.fields, kind):
                found.extend(_property_problems(source, settings, kind, prop, at))
        contact = settings.contact_fields()
        if not any(s is not None and s.source in ("contact.email", "contact.phone")
                   for s in contact.values()):
            found.append(source.problem(
                (*at, "fields", "contact"),
                f"{'.'.join(map(str, at))}.fields.contact: no property is mapped from "
                "contact.email or contact.phone, so no contact could be found",
                "map the CRM's email or phone property, e.g. email: contact.email"))
    return found


def _property_problems(source: Source, settings: CrmCommon, kind: Kind, prop: str,
                       at: tuple[str | int, ...]) -> list[Problem]:
    path = (*at, "fields", kind, prop)
    dotted = ".".join(map(str, path))
    if not settings.property_name.fullmatch(prop):
        spelled = ("lower case letters, digits and _ (HubSpot's internal name, e.g. "
                   "lifecyclestage)" if settings.vendor == "hubspot" else
                   "the field's API name: letters, digits and _ (e.g. LeadSource, Region__c)")
        return [source.problem(path, f"{dotted}: '{prop}' is not a {settings.vendor} property "
                                     "name", f"write {spelled}")]
    if kind == "activity" and prop in settings.reserved_activity:
        return [source.problem(path, f"{dotted}: {prop} is set by the router (the contact "
                                     "the activity belongs to)", "leave it out")]
    return []


def _address_problems(source: Source, settings: CrmCommon,
                      at: tuple[str | int, ...]) -> list[Problem]:
    found = []
    urls = {"api_base": settings.api_base}
    if isinstance(settings, SalesforceSettings):
        urls["instance_url"] = settings.instance_url
        if not settings.access_token and not (settings.client_id and settings.client_secret):
            found.append(source.problem(
                at, f"{'.'.join(map(str, at))}: no credentials",
                "set access_token, or client_id and client_secret (client credentials flow), "
                "from the environment: ${SALESFORCE_CLIENT_SECRET}"))
    for key, url in urls.items():
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            continue
        if parts.scheme == "http" and parts.hostname in _LOCAL:
            continue
        found.append(source.problem(
            (*at, key), f"{'.'.join(map(str, (*at, key)))}: '{url}' is not an https:// address",
            "the token travels with every request: use https (plain http only to 127.0.0.1)"))
    return found
