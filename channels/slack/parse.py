"""Pure translation of Slack Events API and interactivity payloads into domain types.

Keys (documented in docs/slack.md):

* inbox key of a message: `<channel>:<ts>`. A message's `ts` is unique within its channel
  and the same in every delivery of it: Slack's retries of one event (same `event_id`),
  and the `message` and `app_mention` events that one message triggers (different
  `event_id`s), all dedupe to one stored message. Deduping on `event_id` would answer a
  mention twice when the app subscribes to both events.
* inbox key of an edit: `edit:<channel>:<ts>:<edited.ts>` (each edit is its own delivery);
  the edit finds its message by `<channel>:<ts>`.
* thread key: the DM channel id for direct messages, `<channel>:<thread_ts or ts>` in
  channels, so a reply goes to the same thread and a thread is one conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channels.slack.markup import to_plain
from router.domain.model import Attachment, InboundKind, InboundMessage, Sender

CHANNEL = "slack"
# message subtypes that are still a person's message
_PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
AGENT_ACTION_PREFIX = "ir.agent."  # ir.agent.claim / resolve / transfer
QUICK_REPLY_PREFIX = "ir.qr."


@dataclass(frozen=True, slots=True)
class Options:
    """What parsing needs to know about this app and its configuration."""

    bot_user_id: str = ""
    team_id: str = ""
    shared_channels: frozenset[str] = frozenset()
    agents_channel: str = ""
    customers: bool = True
    ignore_own_team_in_shared: bool = True


@dataclass(frozen=True, slots=True)
class Ignored:
    """A valid payload this channel deliberately does nothing with, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A thread reply in a channel without a mention: an inquiry only if the thread is
    already a conversation (the customer mentioned the app when they started it)."""

    message: InboundMessage


@dataclass(frozen=True, slots=True)
class AgentReply:
    """A person's message in a thread of the agents' channel: an answer to the customer."""

    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    attachments: tuple[Attachment, ...] = ()

    @property
    def inbox_key(self) -> str:
        return f"agent:{self.channel}:{self.ts}"


@dataclass(frozen=True, slots=True)
class AgentButton:
    """Claim / Resolve / Transfer pressed on a conversation's root message."""

    action: str  # claim, resolve, transfer
    conversation_id: int
    user: str
    channel: str
    message_ts: str
    value: str = ""  # transfer: the target queue
    action_ts: str = ""


Parsed = InboundMessage | FollowUp | AgentReply | AgentButton | Ignored


def parse_event(body: dict[str, Any], opts: Options) -> Parsed:
    """Translate one `event_callback` body; anything unusable is `Ignored`, never raised."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return Ignored(f"not an event callback: {body.get('type')!r}")
    etype = event.get("type")
    if etype not in ("message", "app_mention"):
        return Ignored(f"event type {etype!r}")
    subtype = event.get("subtype")
    if subtype == "message_changed":
        return _edit(body, event, opts)
    if subtype == "message_deleted":
        return Ignored("deletion: the stored message is kept")
    if event.get("bot_id") or subtype == "bot_message" or event.get("bot_profile"):
        return Ignored("message from a bot")
    if subtype not in _PERSON_SUBTYPES:
        return Ignored(f"message subtype {subtype!r}")
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return Ignored("message without user, channel or ts")
    if user == opts.bot_user_id:
        return Ignored("the app's own message")
    thread_ts = str(event.get("thread_ts") or "")
    if opts.agents_channel and channel == opts.agents_channel:
        if thread_ts and thread_ts != ts and etype == "message":
            return AgentReply(channel, thread_ts, ts, user, to_plain(str(event.get("text") or "")),
                              _files(event))
        return Ignored("agents' channel outside a conversation thread")
    if not opts.customers:
        return Ignored("customer role is off")
    return _customer_message(body, event, opts, etype, thread_ts)


def _customer_message(body: dict[str, Any], event: dict[str, Any], opts: Options, etype: str,
                      thread_ts: str) -> Parsed:
    channel, ts = event["channel"], event["ts"]
    user_team = str(event.get("user_team") or event.get("team") or body.get("team_id") or "")
    if _is_dm(event):
        return _message(body, event, opts, thread_key=channel, user_team=user_team)
    thread_key = f"{channel}:{thread_ts or ts}"
    if etype == "app_mention":
        return _message(body, event, opts, thread_key=thread_key, user_team=user_team)
    if channel in opts.shared_channels:
        if opts.ignore_own_team_in_shared and opts.team_id and user_team == opts.team_id:
            return Ignored("own workspace member in a shared channel")
        return _message(body, event, opts, thread_key=thread_key, user_team=user_team)
    if f"<@{opts.bot_user_id}" in str(event.get("text") or ""):
        return Ignored("mention: handled by its app_mention event")
    if thread_ts and thread_ts != ts:
        return FollowUp(_message(body, event, opts, thread_key=thread_key, user_team=user_team))
    return Ignored(f"message in {channel} not addressed to the app")


def _is_dm(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def _message(body: dict[str, Any], event: dict[str, Any], opts: Options, *, thread_key: str,
             user_team: str) -> InboundMessage:
    channel, ts = event["channel"], event["ts"]
    text = to_plain(str(event.get("text") or ""), strip_user=opts.bot_user_id)
    return InboundMessage(
        channel=CHANNEL, external_id=f"{channel}:{ts}", thread_key=thread_key,
        sender=Sender(external_id=event["user"], team=user_team),
        text=text, received_at=_when(ts), attachments=_files(event),
        metadata=_meta(body, event), raw=_raw(body, event))


def _edit(body: dict[str, Any], event: dict[str, Any], opts: Options) -> Parsed:
    inner = event.get("message")
    channel = event.get("channel")
    if not isinstance(inner, dict) or not isinstance(channel, str):
        return Ignored("message_changed without message")
    if inner.get("bot_id") or inner.get("subtype") == "bot_message" or \
            inner.get("user") == opts.bot_user_id:
        return Ignored("edit of a bot's message")
    if opts.agents_channel and channel == opts.agents_channel:
        return Ignored("edit in the agents' channel: the customer already has the reply")
    previous = _obj(event.get("previous_message"))
    if previous.get("text") == inner.get("text"):
        return Ignored("edit without a text change (unfurl, reaction, pin)")
    ts, user = str(inner.get("ts") or ""), str(inner.get("user") or "")
    edited_at = str(_obj(inner.get("edited")).get("ts") or event.get("ts") or "")
    if not ts or not user:
        return Ignored("message_changed without ts or user")
    return InboundMessage(
        channel=CHANNEL, external_id=f"edit:{channel}:{ts}:{edited_at}",
        thread_key=channel if _is_dm(event) else f"{channel}:{inner.get('thread_ts') or ts}",
        sender=Sender(external_id=user, team=str(inner.get("user_team") or inner.get("team") or "")),
        text=to_plain(str(inner.get("text") or ""), strip_user=opts.bot_user_id),
        received_at=_when(edited_at or ts), kind=InboundKind.EDIT, edits=f"{channel}:{ts}",
        metadata=_meta(body, event), raw=_raw(body, event))


def parse_action(payload: dict[str, Any], opts: Options) -> Parsed:
    """Translate a `block_actions` payload (a button press)."""
    if payload.get("type") != "block_actions":
        return Ignored(f"interaction type {payload.get('type')!r}")
    actions = payload.get("actions") or []
    if not actions or not isinstance(actions[0], dict):
        return Ignored("block_actions without actions")
    action = actions[0]
    action_id = str(action.get("action_id") or "")
    user = str(_obj(payload.get("user")).get("id") or "")
    container = _obj(payload.get("container"))
    channel = str(container.get("channel_id") or _obj(payload.get("channel")).get("id") or "")
    message_ts = str(container.get("message_ts") or _obj(payload.get("message")).get("ts") or "")
    value = str(action.get("value") or _obj(action.get("selected_option")).get("value") or "")
    if action_id.startswith(AGENT_ACTION_PREFIX):
        return _agent_button(action_id, value, user, channel, message_ts, action)
    if action_id.startswith(QUICK_REPLY_PREFIX) and opts.customers:
        thread_ts = str(_obj(payload.get("message")).get("thread_ts") or "")
        thread_key = channel if channel.startswith("D") else f"{channel}:{thread_ts or message_ts}"
        action_ts = str(action.get("action_ts") or "")
        return InboundMessage(
            channel=CHANNEL, external_id=f"action:{channel}:{message_ts}:{action_ts}",
            thread_key=thread_key, sender=Sender(external_id=user, team=str(
                _obj(payload.get("user")).get("team_id") or "")),
            text=str(_obj(action.get("text")).get("text") or value),
            received_at=_when(action_ts) if action_ts else datetime.now(UTC),
            kind=InboundKind.CALLBACK, callback_data=value,
            metadata={"slack_channel": channel, "slack_ts": message_ts})
    return Ignored(f"action {action_id!r} is not ours")


def _agent_button(action_id: str, value: str, user: str, channel: str, message_ts: str,
                  action: dict[str, Any]) -> Parsed:
    verb = action_id.removeprefix(AGENT_ACTION_PREFIX)
    conv_part, _, extra = value.partition(":")
    if verb not in ("claim", "resolve", "transfer") or not conv_part.isdigit():
        return Ignored(f"malformed agent action {action_id}={value!r}")
    selected = str(_obj(action.get("selected_option")).get("value") or "")
    if verb == "transfer" and selected:
        conv_part, _, extra = selected.partition(":")
        if not conv_part.isdigit():
            return Ignored(f"malformed transfer option {selected!r}")
    return AgentButton(verb, int(conv_part), user, channel, message_ts, extra,
                       str(action.get("action_ts") or ""))


def _files(event: dict[str, Any]) -> tuple[Attachment, ...]:
    out = []
    for f in event.get("files") or ():
        if not isinstance(f, dict):
            continue
        mime = str(f.get("mimetype") or "")
        out.append(Attachment(kind="image" if mime.startswith("image/") else "file",
                              name=str(f.get("name") or ""), mime=mime,
                              size=int(f.get("size") or 0),
                              ref=str(f.get("url_private") or f.get("id") or "")))
    return tuple(out)


def _obj(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else an empty one: a field of the wrong type (a
    mutated or future payload) is treated as missing instead of raising."""
    return value if isinstance(value, dict) else {}


def _meta(body: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    return {"slack_channel": event.get("channel", ""), "slack_event_id": body.get("event_id", "")}


def _raw(body: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": body.get("event_id"), "team_id": body.get("team_id"), "event": event}


def _when(ts: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)
