"""Salesforce through `simple-salesforce` (REST API): a SOQL query, Contact and Task.

Synchronous: called on the gate's worker threads, one client per thread (each with its own
`requests` session). The client signs in with an access token, or with a connected app's
client credentials (renewed by the client when a token expires). Salesforce addresses are
written https:// inside the client; `api_base`, when set, sends each of those requests to
that address instead (a proxy, or the tests' stand-in).
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from router.domain.errors import ChannelError, ChannelRateLimited
from router.engine.integrations.crm.client import RemoteGone
from router.engine.integrations.crm.gate import retry_after
from router.engine.integrations.crm.settings import SalesforceSettings

DEFAULT_WAIT = 60.0
LIMIT_WAIT = 900.0  # REQUEST_LIMIT_EXCEEDED: the org's 24-hour allocation is used up
NOT_PROVIDED = "[not provided]"  # Salesforce's own filler for a required LastName
_GONE_CODES = ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY")


class _Transport(HTTPAdapter):
    """Every request with a timeout; with `base`, sent to that address instead."""

    def __init__(self, *, timeout: float, base: str) -> None:
        super().__init__()
        self.timeout = timeout
        self.base = base.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        if self.base and request.url:
            parts = urlsplit(request.url)
            request.url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


class SalesforceClient:
    vendor = "salesforce"

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self.timeout = settings.timeout.total_seconds()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = requests.Session()
        transport = _Transport(timeout=self.timeout, base=self.settings.api_base)
        session.mount("https://", transport)
        session.mount("http://", transport)
        local = self._local

        def remember(resp: requests.Response, *_: Any, **__: Any) -> None:
            local.retry_after = resp.headers.get("Retry-After") if resp.status_code == 429 else None

        session.hooks["response"].append(remember)
        return session

    def _client(self) -> Any:
        sf = getattr(self._local, "sf", None)
        if sf is not None:
            return sf
        from simple_salesforce import Salesforce  # imported only when Salesforce is configured

        s = self.settings
        version = s.api_version
        if s.access_token:
            sf = Salesforce(instance_url=s.instance_url, session_id=s.access_token,
                            version=version, session=self._session())
        else:
            host = urlsplit(s.instance_url).hostname or ""
            sf = Salesforce(consumer_key=s.client_id, consumer_secret=s.client_secret,
                            domain=host.removesuffix(".salesforce.com"), version=version,
                            session=self._session())
        self._local.sf = sf
        return sf

    def find_contact(self, lookup: dict[str, str]) -> str | None:
        from simple_salesforce.format import format_soql

        # field names are checked at config load: letters, digits and _ only
        where = " OR ".join(f"{field} = {{}}" for field in lookup)
        soql = format_soql(f"SELECT Id FROM Contact WHERE {where} ORDER BY CreatedDate LIMIT 1",
                           *lookup.values())
        found = self._call(lambda sf: sf.query(soql))
        records = found.get("records") or []
        return str(records[0]["Id"]) if records else None

    def create_contact(self, properties: dict[str, Any]) -> str:
        data = dict(properties)
        data.setdefault("LastName", NOT_PROVIDED)  # required by Salesforce
        created = self._call(lambda sf: sf.Contact.create(data))
        return str(created["id"])

    def log_activity(self, contact_id: str, properties: dict[str, Any]) -> str:
        data = {**properties, "WhoId": contact_id}
        created = self._call(lambda sf: sf.Task.create(data))
        return str(created["id"])

    def _call(self, fn: Any) -> Any:
        from simple_salesforce.exceptions import SalesforceError

        self._local.retry_after = None
        try:
            return fn(self._client())
        except SalesforceError as exc:
            raise self._failure(exc) from None
        except requests.RequestException as exc:
            raise ChannelError(f"cannot reach Salesforce: {exc.__class__.__name__}") from None

    def _failure(self, exc: Any) -> ChannelError:
        from simple_salesforce.exceptions import (
            SalesforceAuthenticationFailed,
            SalesforceExpiredSession,
        )

        if isinstance(exc, SalesforceAuthenticationFailed):
            self._local.sf = None
            return ChannelError(f"Salesforce sign-in failed: {str(exc.code)[:100]}")
        status = int(getattr(exc, "status", 0) or 0)
        codes = _error_codes(getattr(exc, "content", None))
        if status == 429:
            return ChannelRateLimited("Salesforce HTTP 429",
                                      retry_after(self._local.retry_after, DEFAULT_WAIT))
        if "REQUEST_LIMIT_EXCEEDED" in codes:
            return ChannelRateLimited("Salesforce: API request limit exceeded", LIMIT_WAIT)
        reason = f"Salesforce HTTP {status}" + (f": {', '.join(codes)}" if codes else "")
        if isinstance(exc, SalesforceExpiredSession):
            self._local.sf = None  # signs in again on the next call
            return ChannelError(reason)
        if any(code in codes for code in _GONE_CODES):
            return RemoteGone(reason)
        return ChannelError(reason, permanent=status == 400)


def _error_codes(content: Any) -> list[str]:
    """Salesforce's error codes (its answer is a list of {errorCode, message})."""
    if isinstance(content, list):
        return [str(e.get("errorCode", ""))[:60] for e in content if isinstance(e, dict)]
    return []
