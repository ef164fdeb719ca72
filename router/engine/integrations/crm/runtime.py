"""The CRM sync in a running service: one outbox route per CRM, and the follower."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from router.config import Config
from router.engine.integrations.crm.adapter import CrmAdapter
from router.engine.integrations.crm.client import CrmClient
from router.engine.integrations.crm.follower import Follower
from router.engine.integrations.crm.settings import CrmCommon
from router.ports.notify import Notifier
from router.store.base import Store

CLIENTS = {
    "hubspot": "router.engine.integrations.crm.hubspot:HubSpotClient",
    "salesforce": "router.engine.integrations.crm.salesforce:SalesforceClient",
}


def _factory(settings: CrmCommon) -> Callable[[], CrmClient]:
    module_name, _, cls_name = CLIENTS[settings.vendor].partition(":")

    def make() -> CrmClient:
        cls: Any = getattr(importlib.import_module(module_name), cls_name)
        client: CrmClient = cls(settings)
        return client

    return make


class CrmRuntime:
    def __init__(self, config: Config, store: Store) -> None:
        public_url = config.settings.service.public_url.rstrip("/")
        self.adapters: dict[str, CrmAdapter] = {}
        for settings in config.settings.integrations.crm.configured():
            link = settings.transcript_url or (
                f"{public_url}/api/v1/conversations/{{id}}" if public_url else "")
            adapter = CrmAdapter(settings=settings, store=store, link_template=link,
                                 client_factory=_factory(settings))
            self.adapters[adapter.name] = adapter
        self.store = store
        self.follower: Follower | None = None

    def start(self, *, notifier: Notifier | None, wake_outbox: Callable[[], None]) -> None:
        self.follower = Follower(self.store, list(self.adapters.values()), notifier=notifier,
                                 wake_outbox=wake_outbox)
        self.follower.start()

    async def stop(self) -> None:
        """Stop queueing; the adapters (outbox routes) are stopped with the channels."""
        if self.follower is not None:
            await self.follower.stop()

    def status(self) -> dict[str, Any]:
        return {"crms": sorted(a.vendor for a in self.adapters.values()),
                "queued": self.follower.queued if self.follower else 0}


def crm_runtime(config: Config, store: Store) -> CrmRuntime | None:
    """The CRM sync, or None when no CRM is configured."""
    return CrmRuntime(config, store) if config.settings.integrations.crm.configured() else None
