"""The running service: store, pipeline, outbox dispatcher, channels and HTTP, wired once.

Start order makes the service safe to kill at any point: the store opens (and migrates)
first, the dispatcher resumes any replies left pending by a previous run, and intake
opens last. Shutdown runs in reverse: intake closes (platforms get 503 and retry), the
dispatcher drains for a bounded time, then the store closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from router.config import Config, load_config
from router.domain.errors import ConfigError, Problem, ServiceStopping
from router.domain.model import Accepted, InboundMessage, OutboxRow, UnparsedInbound
from router.engine.agents.runtime import AgentsRuntime
from router.engine.backlog import Backlog
from router.engine.channel_host_store import StoreChannelHost
from router.engine.inbox import CoreInbox, decoded
from router.engine.outbox import Dispatcher
from router.engine.pipeline import Decide, Pipeline, queue_everything
from router.engine.stages import StageClock
from router.engine.webhook_channel import WebhookChannel
from router.ports.channel import ChannelAdapter, ChannelContext, IngestResult
from router.reloader import Reloader
from router.store import Store, open_store, utcnow
from router.web.app import create_app
from router.web.metrics import Metrics, metrics_handler
from router.wiring import build_decide

log = logging.getLogger(__name__)

# channel name -> "module:factory"; a factory takes (settings, ChannelContext) and returns
# one adapter or a list of them (e.g. several Telegram bots).
CHANNEL_FACTORIES = {
    "loopback": "channels.loopback.factory:create",
    "email": "channels.email.factory:create",
    "telegram": "channels.telegram.factory:create",
    "slack": "channels.slack.factory:create",
    "webchat": "channels.webchat.factory:create",
}


def is_loopback_host(host: str) -> bool:
    """Whether listening on `host` keeps the port to this machine (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name, "", "0.0.0.0" resolve or bind beyond loopback
        return False


@dataclass
class Decider:
    """Holds the current decision function; a reload swaps it in one assignment."""

    current: Decide = queue_everything

    def __call__(self) -> Decide:
        return self.current


class Service:
    def __init__(self, config: Config, *, decider: Callable[[], Decide] | None = None,
                 store: Store | None = None, reload: bool = False) -> None:
        """`reload=True` watches the config files and swaps in valid rule changes."""
        self.config = config
        s = config.settings
        self.store = store or open_store(s.storage.url, base_dir=Path(config.path).resolve().parent)
        self.decider = decider or Decider()
        self.state: dict[str, Any] = {"ready": False, "stopping": False, "status": self.status}
        self.channels: dict[str, ChannelAdapter] = {}
        self._inboxes: dict[str, CoreInbox] = {}
        self.dispatcher: Dispatcher | None = None
        self.pipeline: Pipeline | None = None
        self.backlog: Backlog | None = None
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.extra_status: dict[str, Callable[[], Any]] = {}
        self.agents: AgentsRuntime | None = None
        self.metrics = Metrics()
        self.stages = StageClock(self.metrics.stage_seconds)
        self.reloader: Reloader[Any] | None = None
        self._reload_enabled = reload
        self._reload_stop = asyncio.Event()
        self._reload_task: asyncio.Task[None] | None = None
        self._retention_task: asyncio.Task[None] | None = None  # privacy (issue 13)
        self.crm: Any = None  # CRM sync (issue 27): router.engine.integrations.crm.runtime.CrmRuntime
        self._host = config.settings.http.host

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"service": self.config.settings.service.name,
                               "channels": sorted(self.channels),
                               "ready": self.state["ready"]}
        current = self.decider() if callable(self.decider) else None
        out["rules"] = {"version": str(getattr(current, "version", "")),
                        "last_reload": self.reloader.last_reload if self.reloader else None}
        for key, fn in self.extra_status.items():
            out[key] = fn()
        return out

    async def intake(self, message: InboundMessage) -> IngestResult:
        """Store and process in one commit (acknowledge: processed, and non-webhook channels)."""
        if self.state["stopping"] or self.pipeline is None:
            raise ServiceStopping()
        started = time.perf_counter()
        result = await self.pipeline.ingest(message)
        self._count(message, result, started)
        if not result.duplicate:
            self.stages.processed_inline(result.conversation_id, started)
            await self._processed(message, result)
        return result

    async def accept(self, message: Accepted) -> IngestResult:
        """Store only; the backlog processes it next (acknowledge: stored)."""
        if self.state["stopping"] or self.backlog is None:
            raise ServiceStopping()
        started = time.perf_counter()
        result = await self.backlog.accept(message)
        self._count(message, result, started)
        if not result.duplicate:
            self.stages.stored((message.channel, message.external_id), started)
        return result

    def inbox_for(self, adapter: ChannelAdapter) -> CoreInbox:
        """The channel's inbox: the core decides here whether its input is stored and
        acknowledged before it is decoded and processed (issue 25)."""
        inbox = self._inboxes.get(adapter.name)
        if inbox is None:
            deferred = adapter.deferrable and self.config.settings.service.acknowledge == "stored"
            inbox = CoreInbox(adapter, ingest=self.intake,
                              accept=self.accept if deferred else None)
            self._inboxes[adapter.name] = inbox
        return inbox

    async def _decode(self, item: UnparsedInbound) -> InboundMessage | None:
        """Raw input the backlog processes now: decoded and enriched by its channel."""
        adapter = self.channels.get(item.channel)
        if adapter is None:
            raise LookupError(f"channel {item.channel} is not configured")
        return await decoded(adapter, item)

    def _count(self, message: Accepted, result: IngestResult, started: float) -> None:
        self.metrics.pipeline_seconds.labels(message.channel).observe(time.perf_counter() - started)
        self.metrics.inbound.labels(message.channel,
                                    "duplicate" if result.duplicate else "stored").inc()

    async def _processed(self, message: InboundMessage, result: IngestResult) -> None:
        """The channel's follow-up of a processed message, in both acknowledgement modes."""
        adapter = self.channels.get(message.channel)
        if adapter is None:
            return
        try:
            await adapter.processed(message, result)
        except Exception:  # the message is stored and processed; its extras must not fail it
            log.exception("channel %s: processed hook failed", adapter.name)

    def _on_settled(self, row: OutboxRow, outcome: str) -> None:
        self.metrics.outbound.labels(row.channel, outcome).inc()
        if outcome != "sent":
            self.metrics.channel_errors.labels(row.channel, outcome).inc()

    def build_channels(self) -> dict[str, ChannelAdapter]:
        ctx = ChannelContext(data_dir=self.config.data_path(),
                             public_url=self.config.settings.service.public_url,
                             metrics=self.metrics,
                             agent_tools=lambda: self.agents.tools if self.agents else None,
                             wake_outbox=lambda: self.dispatcher.wake() if self.dispatcher else None,
                             host_for=lambda channel: StoreChannelHost(self.store, channel))
        adapters: dict[str, ChannelAdapter] = {  # rules' actions and outgoing webhooks (issue 27)
            "webhook": WebhookChannel(endpoints=self.config.settings.webhooks)}
        for name, settings in self.config.channels.items():
            module_name, _, fn_name = CHANNEL_FACTORIES[name].partition(":")
            factory = getattr(importlib.import_module(module_name), fn_name)
            made = factory(settings, ctx)
            for adapter in made if isinstance(made, list) else [made]:
                adapters[adapter.name] = adapter
        return adapters

    async def start(self, *, host: str | None = None, port: int | None = None) -> None:
        s = self.config.settings
        self._host = host or s.http.host
        self._check_exposure(self._host)  # before anything opens: a refusal leaves no trace
        # the data directory holds the database, secrets and exports: owner-only
        self.config.data_path().mkdir(mode=0o700, parents=True, exist_ok=True)
        await self.store.open()
        self.channels = self.build_channels()
        self._inboxes = {}
        # --- CRM sync (issue 27): one outbox route per CRM, fed after the fact ---
        from router.engine.integrations.crm.runtime import crm_runtime

        self.crm = crm_runtime(self.config, self.store)
        if self.crm is not None:
            self.channels.update(self.crm.adapters)
            self.extra_status["crm"] = self.crm.status
        # --- end CRM sync ---
        self.dispatcher = Dispatcher(
            self.store, self.channels, max_attempts=s.outbox.max_attempts,
            base_delay=s.outbox.base_delay.total_seconds(),
            max_delay=s.outbox.max_delay.total_seconds(), lease=s.outbox.lease.total_seconds(),
            concurrency=s.outbox.concurrency, on_settled=self._on_settled, stages=self.stages)
        # outgoing webhooks (issue 27): their outbox rows commit with the events they report
        from router.engine.integrations.webhooks.hooks import attach as attach_webhooks

        attach_webhooks(self.store, s.webhooks, wake=self.dispatcher.wake)
        # --- agents (issue 6): desk hooked into the pipeline, API under /api/v1 ---
        self.agents = AgentsRuntime(self.config, self.store, decider=self.decider,
                                    wake_outbox=self.dispatcher.wake)
        dispatcher, agents = self.dispatcher, self.agents

        def committed(rows: int = 0, for_agents: bool = True) -> None:
            if rows:  # a unit that wrote no outbox row gives the dispatcher nothing to lease
                dispatcher.wake()
            agents.committed(scheduler=for_agents)

        def committed_elsewhere() -> None:
            """PostgreSQL: another instance committed. Live streams here show its events
            at once. Its own dispatcher and scheduler act on what it wrote (every instance
            runs both, over the whole database), so ours only look a little later, in case
            it cannot: with three instances, each one's scheduler tick and lease unit per
            commit anywhere had cost about half as much CPU again per message (issue 28).
            Our dispatcher looks only when the commit left outbox rows to a lease round
            (`on_remote_outbox`): most replies are leased by the unit that wrote them."""
            agents.notifier.notify()

        self.store.on_remote_commit(committed_elsewhere)
        self.store.on_remote_outbox(dispatcher.wake_soon)
        self.pipeline = Pipeline(self.store, self.decider, default_queue=s.service.default_queue,
                                 reopen_window=s.service.reopen_window,
                                 on_commit=committed, on_conversation=agents.desk.on_conversation,
                                 slots=dispatcher)
        # PostgreSQL: every pooled connection runs the processing unit once (rolled
        # back) before the port opens, so no burst meets a cold one (issue 28)
        pipeline, warm_channel = self.pipeline, next(iter(self.channels), "webchat")
        await self.store.warm(lambda tx: pipeline.warm_up(tx, warm_channel))
        self.backlog = Backlog(self.store, self.pipeline, after=self._processed,
                               parse=self._decode, max_pending=s.service.max_backlog,
                               stages=self.stages)
        self.extra_status["backlog"] = self.backlog.status
        self.app = create_app(max_body_bytes=s.http.max_body_bytes, state=self.state,
                              body_timeout=s.http.body_timeout)
        # --- console (issue 7): /console, its cookie sessions on /api/v1, web chat signals
        # (hooks go in before add_subapp, which freezes the API application) ---
        from router.web.console.mount import mount_console

        mount_console(self.app, agents.api, config=self.config, desk=agents.desk,
                      decider=self.decider, channels=self.channels,
                      wake_outbox=dispatcher.wake_soon)
        # --- end console ---
        # --- reports and privacy (issue 13): data dir for export/erase, /console/reports ---
        from router.web.api.reports import DATA_DIR
        from router.web.reports.page import routes as report_page_routes

        agents.api[DATA_DIR] = self.config.data_path()
        # FAQ suggestions (issue 20): the config files the suggested diff applies to
        from router.web.api.faq import CONFIG_PATH

        agents.api[CONFIG_PATH] = Path(self.config.path).resolve()
        self.app.router.add_routes(report_page_routes())
        # --- end reports ---
        # macros (issue 24): agents' macros render in the rules' template sandbox
        from router.web.api.hooks import TEMPLATES
        from router.wiring import template_engine

        if (templates := template_engine()) is not None:
            agents.api[TEMPLATES] = templates
        self.app.add_subapp("/api/v1", agents.api)
        await agents.start()
        # --- end agents ---
        for adapter in self.channels.values():
            self.app.router.add_routes(adapter.routes(self.inbox_for(adapter)))
        # --- bots (issue 5): signed CSAT rating links, GET/POST /csat/<token> ---
        if importlib.util.find_spec("bots") is not None:
            from bots.csat_http import routes_for
            from router.engine.csat_recorder_store import StoreCsatRecorder

            self.app.router.add_routes(routes_for(self.config, StoreCsatRecorder(self.store)))
        # --- end bots ---
        if s.metrics.enabled:
            queues = list(s.queues)
            self.app.router.add_get("/metrics", metrics_handler(
                self.metrics, lambda: self.metrics.refresh(self.store, queues), s.metrics.token))
        self.dispatcher.start()
        if self.crm is not None:  # issue 27: resolutions become CRM rows from here on
            self.crm.start(notifier=agents.notifier, wake_outbox=dispatcher.wake)
        self._start_retention()  # privacy (issue 13)
        if self._reload_enabled and isinstance(self.decider, Decider):
            self._start_reloader(self.decider)
        # What a previous run accepted but did not process is queued first, before the
        # port opens and any new message can arrive behind it.
        await self.backlog.start()
        # aiohttp's keep-alive timer runs from connecting (and from the end of each
        # response) until a request's headers are complete, and bytes arriving do not
        # push it back: it is the header deadline that closes slow clients.
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                     keepalive_timeout=s.http.header_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, s.http.port if port is None else port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        for adapter in self.channels.values():
            await adapter.start(self.inbox_for(adapter))
        self.state["ready"] = True
        log.info("serving on http://%s:%s", self._host, self.port)

    def _check_exposure(self, host: str) -> None:
        """The loopback channel without a token is for a service only this machine reaches."""
        loopback = self.config.channels.get("loopback")
        if loopback is None or getattr(loopback, "token", "") or is_loopback_host(host):
            return
        raise ConfigError([Problem(
            str(self.config.path), 0, 0,
            f"channels.loopback.token is empty while the service listens on {host!r}: "
            "anyone who reaches the port could post messages as any customer",
            "set channels.loopback.token (clients send Authorization: Bearer <token>) or "
            "listen on 127.0.0.1 (http.host)")])

    def _start_retention(self) -> None:
        """privacy.retention_days (issue 13): an hourly, batched deletion of old data; and
        audit.retention_days (issue 29) for the audit log."""
        days = self.config.settings.privacy.retention_days
        audit_days = self.config.settings.audit.retention_days
        if days is None and audit_days is None:
            return
        from router.engine.privacy.retention import Retention

        job = Retention(self.store, days=days, data_dir=self.config.data_path(),
                        audit_days=audit_days)
        self._retention_task = asyncio.create_task(job.run(self._reload_stop), name="retention")

    def _start_reloader(self, holder: Decider) -> None:
        """Hot reload of rules, replies, FAQ and bots; other settings need a restart.
        The knowledge base `kb import` writes (issue 27) is watched like a config file."""
        from router.engine.kb import watch_paths

        files = [*self.config.source.files, *watch_paths(self.config)]

        def load() -> Decide:
            config = load_config(self.config.path)
            # an include glob may match new files now
            files[:] = [*config.source.files, *watch_paths(config)]
            return build_decide(config)

        self.reloader = Reloader(holder, load=load, paths=lambda: files)  # type: ignore[arg-type]
        self.reloader.listeners.append(
            lambda result: self.metrics.reloads.labels("ok" if result["ok"] else "rejected").inc())
        self.reloader.after.append(self._audit_reload(lambda: files))  # issue 29
        self._reload_task = asyncio.create_task(self.reloader.run(self._reload_stop),
                                                name="rules-reloader")

    def _audit_reload(self, files: Callable[[], list[str]]) -> Callable[[dict[str, Any]],
                                                                          Awaitable[None]]:
        """The audit log's record of each reload, naming the files that changed."""
        from router.engine import audit
        from router.engine.audit.config_files import ConfigFiles

        tracker = ConfigFiles(Path(self.config.path).resolve().parent, files)

        async def record(result: dict[str, Any]) -> None:
            names = tracker.changed(accept=bool(result["ok"]))
            action = "config_reloaded" if result["ok"] else "config_reload_rejected"
            detail = {"files": names, "version": result.get("version", ""),
                      "problems": len(result.get("errors") or [])}
            await self.store.write(lambda tx: audit.record(tx, audit.SYSTEM, action, "config",
                                                           now=utcnow(), detail=detail))

        return record

    async def stop(self) -> None:
        grace = self.config.settings.service.shutdown_grace.total_seconds()
        self.state["stopping"] = True  # intake answers 503 from here on
        self._reload_stop.set()  # also ends the retention job (issue 13)
        if self._reload_task is not None:
            await self._reload_task
        if self._retention_task is not None:
            await self._retention_task
        if self.backlog is not None:
            # Messages acknowledged but not processed yet: processed within the grace
            # period if they can be (their replies then go out below), else they wait in
            # the store for the next start.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.backlog.drained(), timeout=grace / 2)
            await self.backlog.stop()
        if self.agents is not None:
            await self.agents.stop()
        if self.crm is not None:  # issue 27
            await self.crm.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop(grace)
        for adapter in self.channels.values():
            try:
                await asyncio.wait_for(adapter.stop(), timeout=grace)
            except Exception:
                log.exception("channel %s did not stop cleanly", adapter.name)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.store.close()
        log.info("stopped")
