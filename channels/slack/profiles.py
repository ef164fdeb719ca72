"""Slack user profiles (name, email, locale) from `users.info`, cached.

A profile fills the contact of a new customer and maps a Slack user to an agent by
email. The lookup runs while the message is processed (with `acknowledge: processed`,
before it is acknowledged), and the contact is created in the processing transaction, so
it is bounded by a short timeout and its failure is not fatal: the message goes on with
only the user id, because losing a message is worse than a nameless contact.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: str
    name: str = ""  # display name, else real name, else handle
    username: str = ""
    email: str = ""
    locale: str = ""  # e.g. "sv-SE"
    team: str = ""
    is_bot: bool = False


def profile_from_user(user: dict[str, Any]) -> Profile:
    p = user.get("profile") or {}
    name = (p.get("display_name") or p.get("real_name") or user.get("real_name")
            or user.get("name") or "")
    return Profile(user_id=str(user.get("id", "")), name=str(name),
                   username=str(user.get("name") or ""), email=str(p.get("email") or ""),
                   locale=str(user.get("locale") or ""), team=str(user.get("team_id") or ""),
                   is_bot=bool(user.get("is_bot")))


class Profiles:
    """users.info with a TTL cache; concurrent lookups of one user share one call."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 3600.0, timeout: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.timeout = timeout
        self.clock = clock
        self._cache: dict[str, tuple[float, Profile]] = {}
        self._pending: dict[str, asyncio.Future[Profile | None]] = {}

    async def get(self, user_id: str) -> Profile | None:
        """The user's profile, or None when Slack did not answer in time (not cached)."""
        hit = self._cache.get(user_id)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        pending = self._pending.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(user_id))
            self._pending[user_id] = pending
            pending.add_done_callback(lambda _: self._pending.pop(user_id, None))
        try:
            return await asyncio.wait_for(asyncio.shield(pending), self.timeout)
        except TimeoutError:
            log.warning("slack: users.info for %s took over %.1fs; going on without it",
                        user_id, self.timeout)
            return None

    async def _fetch(self, user_id: str) -> Profile | None:
        try:
            resp = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            log.warning("slack: users.info %s failed: %s", user_id, exc.response.get("error"))
            return None
        except Exception as exc:  # network: not cached, the next message asks again
            log.warning("slack: users.info %s failed: %s", user_id, exc.__class__.__name__)
            return None
        profile = profile_from_user(resp.get("user") or {})
        self._cache[user_id] = (self.clock() + self.ttl, profile)
        return profile
