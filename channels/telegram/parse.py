"""Pure translation of a Telegram `Update` into domain types; no I/O.

Keys: the inbox dedupe key is the `update_id` (Telegram redelivers an update with the same
id), while the stored message gets `<chat id>:<message id>` so that a later
`edited_message` (a new update_id) finds the message it edits.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from aiogram.types import CallbackQuery, Chat, Message, Update, User
from pydantic import BaseModel, ValidationError

from channels.telegram.media import attachments_of
from router.domain.errors import PayloadRejected
from router.domain.model import InboundKind, InboundMessage, Sender

GroupMode = Literal["mention", "all", "off"]
PRIVATE = "private"
GROUPS = ("group", "supergroup")
# Update types this channel acts on; other known types are ignored, unknown ones rejected.
HANDLED = ("message", "edited_message", "callback_query", "my_chat_member")
KNOWN_TYPES = frozenset(Update.model_fields) - {"update_id"}


def _update_type_models() -> dict[str, type[BaseModel]] | None:
    """Each update type's own aiogram model, in `Update`'s field order (the order in
    which pydantic reports errors); None when some field is not `Model | None`, and then
    whole `Update`s are validated as before."""
    decorators = Update.__pydantic_decorators__
    if (set(decorators.model_validators) - {"remove_unset"} or decorators.field_validators
            or decorators.validators or decorators.root_validators):
        return None
    models: dict[str, type[BaseModel]] = {}
    for name, info in Update.model_fields.items():
        if name == "update_id":
            continue
        annotation = info.annotation
        if get_origin(annotation) not in (Union, types.UnionType):
            return None
        args = [a for a in get_args(annotation) if a is not type(None)]
        if (len(args) != 1 or not isinstance(args[0], type) or not issubclass(args[0], BaseModel)
                or info.alias not in (None, name) or info.default is not None):
            return None
        models[name] = args[0]
    return models


#: Validating only the present update type with its own model gives the same objects
#: and the same first error as `Update.model_validate` (an Update is its update_id plus
#: optional, alias-free, validator-free fields), without building the Update around it.
_TYPE_MODELS = _update_type_models()
_FIELD_ORDER = {name: i for i, name in enumerate(Update.model_fields)}


class UpdateRejected(PayloadRejected):
    """Input that is not a usable Telegram update; `code` labels the rejection metric."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}", status=200)
        self.code = code


@dataclass(frozen=True, slots=True)
class Ignored:
    """A valid update this channel deliberately does nothing with (and why)."""

    reason: str
    update_id: int = 0


@dataclass(frozen=True, slots=True)
class ChatMemberChange:
    """The user blocked (`blocked=True`) or unblocked the bot in a private chat."""

    channel: str
    chat_id: str
    blocked: bool
    update_id: int
    status: str = ""


@dataclass(frozen=True, slots=True)
class _Opts:
    channel: str
    bot_username: str
    bot_id: int
    group_mode: GroupMode
    rerun_rules_on_edit: bool
    extra: Mapping[str, Any] = field(default_factory=dict)


Parsed = InboundMessage | Ignored | ChatMemberChange


def parse_update(update: Any, *, bot_name: str, bot_username: str = "",
                 group_mode: GroupMode = "mention", bot_id: int = 0,
                 rerun_rules_on_edit: bool = False) -> Parsed:
    """Translate one decoded update.

    Raises:
        UpdateRejected: not an update at all, or of a type Telegram does not define.
    """
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise UpdateRejected("invalid_update", "expected a JSON object with an integer update_id")
    kinds = [k for k in update if k != "update_id"]
    known = [k for k in kinds if k in KNOWN_TYPES]
    if not known:
        raise UpdateRejected("unknown_update_type", f"no known update type in {kinds[:5]}")
    uid, present = validate_update(update)
    opts = _Opts(f"telegram:{bot_name}", bot_username.lstrip("@"), bot_id, group_mode,
                 rerun_rules_on_edit)
    if (message := present.get("message")) is not None:
        return _message(message, uid, opts, update, edited=False)
    if (message := present.get("edited_message")) is not None:
        return _message(message, uid, opts, update, edited=True)
    if (query := present.get("callback_query")) is not None:
        return _callback(query, uid, opts, update)
    if (m := present.get("my_chat_member")) is not None:
        if m.chat.type != PRIVATE:
            return Ignored(f"bot membership in a {m.chat.type} chat", uid)
        status = m.new_chat_member.status
        if status not in ("kicked", "member"):
            return Ignored(f"my_chat_member status {status}", uid)
        return ChatMemberChange(opts.channel, str(m.chat.id), status == "kicked", uid, status)
    return Ignored(f"unsupported update type {known[0]}", uid)


def validate_update(update: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The update_id and the validated object of each update type present (None where the
    update carries null), exactly as `Update.model_validate(update)` would give them.

    Raises:
        UpdateRejected: invalid_update, with the location and message of the first error.
    """
    models = _TYPE_MODELS
    if models is None:
        try:
            parsed = Update.model_validate(update)
        except ValidationError as exc:
            raise _invalid(exc, ()) from None
        return parsed.update_id, {k: getattr(parsed, k) for k in update if k in KNOWN_TYPES}
    names = [k for k in update if k in models]  # one, unless forged
    if len(names) > 1:
        names.sort(key=_FIELD_ORDER.__getitem__)  # Update's field order: its first error
    present: dict[str, Any] = {}
    for name in names:
        value = update[name]
        try:
            present[name] = None if value is None else models[name].model_validate(value)
        except ValidationError as exc:
            raise _invalid(exc, (name,)) from None
    # update_id was checked to be an int; pydantic's int validation returns a plain int
    return int(update["update_id"]), present


def _invalid(exc: ValidationError, prefix: tuple[str, ...]) -> UpdateRejected:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (*prefix, *first["loc"]))
    return UpdateRejected("invalid_update", f"{where}: {first['msg']}")


def message_key(chat_id: int | str, message_id: int | str) -> str:
    """The stored message's external id: message ids are unique only within a chat."""
    return f"{chat_id}:{message_id}"


def _message(m: Message, uid: int, o: _Opts, raw: dict[str, Any], *, edited: bool) -> Parsed:
    text = m.text or m.caption or ""
    attachments = attachments_of(m)
    if not text and not attachments:
        return Ignored("service message or unsupported content", uid)
    if m.chat.type == "channel":
        return Ignored("channel post", uid)
    metadata: dict[str, Any] = {"message_id": m.message_id, "chat_type": m.chat.type}
    if m.chat.type in GROUPS:
        if not _addressed(m, text, o):
            return Ignored("group message not addressed to the bot", uid)
        text = _strip_mention(text, o.bot_username)
    command, payload = _command(text, o.bot_username)
    if command:
        metadata["command"] = command
        if command == "start" and payload:
            metadata["start_payload"] = payload
    key = message_key(m.chat.id, m.message_id)
    kind = InboundKind.MESSAGE
    edits = ""
    if edited:
        # The stored message is updated in place; with rerun_rules_on_edit the pipeline
        # also runs the rules again on the edited text.
        metadata["edited"] = True
        kind, edits = InboundKind.EDIT, key
    when = m.edit_date if edited and m.edit_date else m.date
    reply_to = (message_key(m.chat.id, m.reply_to_message.message_id)
                if m.reply_to_message is not None else "")
    return InboundMessage(
        channel=o.channel, external_id=str(uid), thread_key=str(m.chat.id),
        sender=_sender(m.chat, m.from_user), text=text, received_at=_utc(when),
        attachments=attachments, kind=kind, reply_to=reply_to, edits=edits,
        metadata=metadata, raw=raw, message_external_id=key,
        is_automatic=bool(m.from_user and m.from_user.is_bot),
        rerun_rules=edited and o.rerun_rules_on_edit,
    )


def _callback(cq: CallbackQuery, uid: int, o: _Opts, raw: dict[str, Any]) -> Parsed:
    if not cq.data:
        return Ignored("callback query without data (game or inline message)", uid)
    msg = cq.message
    chat_id = msg.chat.id if msg is not None else cq.from_user.id
    chat = msg.chat if msg is not None else Chat(id=chat_id, type=PRIVATE)
    if chat.type in GROUPS and o.group_mode == "off":
        return Ignored("group callbacks are off", uid)
    metadata: dict[str, Any] = {"callback_query_id": cq.id, "chat_type": chat.type}
    if msg is not None:
        metadata["message_id"] = msg.message_id
    label = _button_label(msg, cq.data) if isinstance(msg, Message) else ""
    return InboundMessage(
        channel=o.channel, external_id=str(uid), thread_key=str(chat_id),
        sender=_sender(chat, cq.from_user), text=label or cq.data,
        received_at=_utc(msg.date) if isinstance(msg, Message) else datetime.now(UTC),
        kind=InboundKind.CALLBACK, callback_data=cq.data, metadata=metadata, raw=raw,
    )


def _sender(chat: Chat, user: User | None) -> Sender:
    # In a private chat the chat id is the user id and is where replies go; in a group
    # the person is the identity (the same contact as in their private chat).
    if user is None:
        return Sender(external_id=str(chat.id), display_name=chat.title or "")
    external = str(chat.id) if chat.type == PRIVATE else str(user.id)
    return Sender(external_id=external, display_name=user.full_name,
                  username=user.username or "", language_hint=user.language_code or "",
                  is_bot=user.is_bot)


def _addressed(m: Message, text: str, o: _Opts) -> bool:
    if o.group_mode == "all":
        return True
    if o.group_mode == "off":
        return False
    reply = m.reply_to_message
    if reply is not None and reply.from_user is not None and (
            (o.bot_id and reply.from_user.id == o.bot_id)
            or (o.bot_username and (reply.from_user.username or "").lower()
                == o.bot_username.lower())):
        return True
    for ent in (m.entities or m.caption_entities or ()):
        if ent.type == "text_mention" and ent.user is not None and ent.user.id == o.bot_id:
            return True
    return bool(o.bot_username) and _mention_re(o.bot_username).search(text) is not None


@lru_cache(maxsize=64)
def _mention_re(username: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(username)}\b", re.IGNORECASE)


_SPACES = re.compile(r"[ \t]{2,}")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@(\w+))?(?:\s+(.*))?$", re.DOTALL)


def _strip_mention(text: str, username: str) -> str:
    if not username:
        return text
    return _SPACES.sub(" ", _mention_re(username).sub("", text)).strip()


def _command(text: str, username: str) -> tuple[str, str]:
    """`/start@bot payload` -> ("start", "payload"); ("", "") when not a command."""
    if not text.startswith("/"):
        return "", ""
    match = _COMMAND.match(text)
    if not match:
        return "", ""
    target = match.group(2)
    if target and username and target.lower() != username.lower():
        return "", ""  # a command for another bot in the same group
    return match.group(1).lower(), (match.group(3) or "").strip()


def _button_label(msg: Message, data: str) -> str:
    markup = msg.reply_markup
    for row in (markup.inline_keyboard if markup is not None else ()):
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""


def _utc(value: datetime | int) -> datetime:
    # aiogram types `date` as a datetime but leaves `edit_date` a Unix timestamp
    if isinstance(value, int):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, ValueError, OSError):
            raise UpdateRejected("invalid_update", f"timestamp out of range: {value}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
