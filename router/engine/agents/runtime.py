"""Everything the service starts for agents, behind three calls: build, start, stop.

Kept out of router/service.py so that the service only mounts the API, hooks the desk
into the pipeline and starts/stops the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from router.config import Config
from router.engine.agents.desk import Desk
from router.engine.agents.desk_tools import DeskTools
from router.engine.agents.policy import build_policy, config_agents
from router.engine.agents.scheduler import Scheduler
from router.engine.pipeline import Decide
from router.ports.notify import EventNotifier
from router.store.base import Store, utcnow

log = logging.getLogger(__name__)


class AgentsRuntime:
    def __init__(self, config: Config, store: Store, *, decider: Callable[[], Decide] | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 wake_outbox: Callable[[], None] | None = None) -> None:
        from router.web.api import create_api

        self.config = config
        self.notifier = EventNotifier()
        self.desk = Desk(store, build_policy(config), clock=clock, notifier=self.notifier,
                         decider=decider, wake_outbox=wake_outbox)
        self.scheduler = Scheduler(self.desk, decider=decider)
        self.tools = DeskTools(self.desk)  # the desk as agent tools see it (Slack threads)
        self.api: web.Application = create_api(self.desk, title=config.settings.service.name)

    def committed(self, *_: object, scheduler: bool = True) -> None:
        """Pipeline on_commit: new events may be there, and clocks may have started.
        `scheduler=False`: the unit left its conversation with the bots, so nothing the
        scheduler does (assignment, SLA, snoozes) can have become due; a tick per quarter
        second on every instance had been about a tenth of the round trips per message
        with three PostgreSQL instances (issue 28)."""
        self.notifier.notify()
        if scheduler:
            self.scheduler.wake()

    async def start(self) -> None:
        agents = config_agents(self.config)
        await self.desk.sync_agents(agents)
        self.scheduler.start()
        log.info("agent desk ready: %d configured agents, %d queues", len(agents),
                 len(self.desk.policy.queues))

    async def stop(self) -> None:
        await self.scheduler.stop()
