"""`GET /faq/suggestions` (admins): FAQ question variants learnt from conversations.

The same suggestions and diff as `inquiry-router faq suggest`, for the console's FAQ
page. The configuration is read from disk on each request, because the diff must apply
to the files as they are now, not as the service loaded them. Nothing is written here:
applying a suggestion is the admin's step (the diff, or the command's `--apply`). Paths
in the diff are relative to the directory of config.yaml.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import Field

from router.config import Config, load_config
from router.domain.agent_errors import ActionRejected, ConflictError, NotFoundError
from router.domain.errors import ConfigError
from router.domain.model import Agent
from router.web.api.models import Query
from router.web.api.routing import DESK, Route

#: the service's config.yaml (set by router/service.py); without it the route answers 404
CONFIG_PATH = web.AppKey("faq_config_path", Path)


class SuggestionsQuery(Query):
    since: str = Field("90d", max_length=40, description="evidence since this long ago (90d, "
                       "2w, 12h) or since this day (YYYY-MM-DD), like the CLI's --since")
    min_count: int = Field(1, ge=1, le=100_000, description="only variants seen at least "
                           "this often")
    limit: int = Field(100, ge=1, le=1000, description="at most this many, most often seen "
                       "first")


def _load(path: Path) -> Config:
    """The config with its FAQ validated (rules and bots compile), as `check` does."""
    from router.wiring import build_decide

    config = load_config(path)
    build_decide(config)
    return config


async def suggestions(request: web.Request, agent: Agent, query: SuggestionsQuery) -> dict[str, Any]:
    # imported here: they need the bots package (optional, like in router/wiring.py)
    from router.engine.faq_kb import KnowledgeBase
    from router.engine.faq_patch import plan
    from router.engine.faq_suggest import parse_since, suggest

    path = request.app.get(CONFIG_PATH)
    if path is None:
        raise NotFoundError("this service has no configuration file to suggest FAQ variants for")
    desk = request.app[DESK]
    try:
        since = parse_since(query.since, desk.clock())
    except ValueError as exc:
        raise ActionRejected(f"query.since: {exc}") from None
    try:
        config = await asyncio.to_thread(_load, path)
    except ConfigError as exc:
        raise ConflictError(f"the configuration on disk has {len(exc.problems)} problem(s), "
                            f"first: {exc.problems[0]}; run `inquiry-router check`") from None
    kb = KnowledgeBase.from_data(config.source.data)
    found = (await suggest(desk.store, kb, since, min_count=query.min_count, limit=query.limit)
             if kb.entries else [])
    try:
        patch = await asyncio.to_thread(plan, config.source, kb, found, base=path.parent)
    except (OSError, ValueError) as exc:
        raise ConflictError(f"cannot prepare the change of the FAQ files: {exc}") from None
    return {"since": since.isoformat(), "items": [s.as_dict() for s in found],
            "diff": patch.diff()}


def routes() -> list[Route]:
    return [Route("GET", "/faq/suggestions", suggestions, "New FAQ question variants learnt "
                  "from agents' answers and 'Did you mean' picks, with the YAML diff that "
                  "adds them (nothing is written)", "faq", admin=True, query=SuggestionsQuery,
                  response="FaqSuggestions")]
