"""Optional services the API uses when its host provides them (set by router/service.py).

The API stays usable on its own (tests mount it with a desk only); the service plugs in
the console's cookie sessions, the current rules (canned replies, follow-up on resolve)
and the channels' momentary signals (a web chat visitor sees "agent is typing").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from router.domain.model import Agent, Conversation

#: request -> the session's agent, a refusal to send (401/403), or None (no session)
SessionAuth = Callable[[web.Request], Awaitable[Agent | web.Response | None]]
#: (conversation, event, agent display name) -> sockets reached; see WebchatAdapter.notify
Signal = Callable[[Conversation, str, str], Awaitable[int]]

SESSION_AUTH = web.AppKey("session_auth", SessionAuth)
#: returns the current decision function (a reload swaps it); `.ruleset` renders replies
RULES = web.AppKey("rules", Callable[[], Any])
SIGNAL = web.AppKey("signal", Signal)
#: the rules' template sandbox for agents' macros (issue 24): router/engine/agents/macros.Templates
TEMPLATES = web.AppKey("templates", Any)
