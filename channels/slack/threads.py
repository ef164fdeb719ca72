"""What the Slack channel remembers about the agents' workspace, in its `ChannelState`.

| key | value | tied to |
|---|---|---|
| `root:<conversation>` | `{channel, ts, digest}` of the conversation's root message | conversation |
| `thread:<channel>:<ts>` | the conversation a root's thread belongs to | conversation |
| `mark:<conversation>` | agent replies of earlier versions still to skip (see below) | conversation |
| `workspace:cursor` | the last event id the workspace has applied | - |
| `workspace:leader` | the lease of the instance that posts (`Workspace`) | - |

Keeping it here rather than in the conversation row (earlier versions wrote
`conversation.metadata["slack_root"]` and thread keys under the pseudo-channel
`slack#agents`) means every instance sees it and privacy erase removes it with the
conversation. The old places are read once: a root or thread found only there is copied
into the state on first use, so existing installs keep their threads; they are never
written again. Earlier versions also wrote a `slack_thread_reply` event beside an agent's
thread reply; one still unfollowed at upgrade counts in `mark:<conversation>`, so that
reply is not mirrored back into its own thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router.domain.model import Conversation
from router.ports.agent_tools import AgentTools
from router.ports.channel_state import ChannelState

LEGACY_ROOT_META = "slack_root"  # conversation.metadata key of earlier versions
LEGACY_ROOT_KEYS = "slack#agents"  # thread_keys pseudo-channel of earlier versions
CURSOR = "workspace:cursor"
LEADER = "workspace:leader"


class Threads:
    def __init__(self, state: ChannelState,
                 tools: Callable[[], AgentTools | None] = lambda: None) -> None:
        self.state = state
        self.tools = tools  # for the legacy thread-key lookup

    async def root(self, conv: Conversation) -> dict[str, Any] | None:
        """The conversation's posted root message, if any."""
        found = await self.state.get(f"root:{conv.id}")
        if found is not None:
            return dict(found)
        legacy = conv.metadata.get(LEGACY_ROOT_META)
        if not isinstance(legacy, dict) or "ts" not in legacy or "pending" in legacy:
            return None
        await self.record_root(conv.id, str(legacy["channel"]), str(legacy["ts"]),
                               str(legacy.get("digest", "")))
        return {"channel": legacy["channel"], "ts": legacy["ts"],
                "digest": legacy.get("digest", "")}

    async def record_root(self, conversation_id: int, channel: str, ts: str,
                          digest: str) -> None:
        # the thread first: a root is only ever looked up after the thread can be found
        await self.state.put(f"thread:{channel}:{ts}", conversation_id,
                             conversation_id=conversation_id)
        await self.state.put(f"root:{conversation_id}",
                             {"channel": channel, "ts": ts, "digest": digest},
                             conversation_id=conversation_id)

    async def record_digest(self, conversation_id: int, root: dict[str, Any],
                            digest: str) -> None:
        await self.state.put(f"root:{conversation_id}", {**root, "digest": digest},
                             conversation_id=conversation_id)

    async def conversation_of(self, channel: str, ts: str) -> int | None:
        """The conversation whose root is the message `ts` in `channel`."""
        found = await self.state.get(f"thread:{channel}:{ts}")
        if found is not None:
            return int(found)
        tools = self.tools()
        if tools is None:
            return None
        legacy = await tools.conversation_for_thread(LEGACY_ROOT_KEYS, f"{channel}:{ts}")
        if legacy is not None:
            await self.state.put(f"thread:{channel}:{ts}", legacy, conversation_id=legacy)
        return legacy

    async def add_mark(self, conversation_id: int) -> None:
        marks = int(await self.state.get(f"mark:{conversation_id}", 0))
        await self.state.put(f"mark:{conversation_id}", marks + 1,
                             conversation_id=conversation_id)

    async def take_mark(self, conversation_id: int) -> bool:
        """Use up one mark: True if the conversation had one."""
        marks = int(await self.state.get(f"mark:{conversation_id}", 0))
        if marks <= 0:
            return False
        if marks == 1:
            await self.state.delete(f"mark:{conversation_id}")
        else:
            await self.state.put(f"mark:{conversation_id}", marks - 1,
                                 conversation_id=conversation_id)
        return True
