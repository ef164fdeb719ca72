"""The cheaper update validation gives what validating a whole aiogram `Update` gave.

`parse_update` validates only the update type(s) present, each with its own aiogram model
(channels/telegram/parse.py, `validate_update`); with `_TYPE_MODELS = None` it validates
the whole `Update` as it used to. Both are run on every fixture and on thousands of
mutations of them (fields removed, nulled, retyped; several update types at once) and
must agree: the same objects, the same `Parsed` result, or the same rejection (code and
reason, including the error's location).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.types import Update
from pydantic import BaseModel, ValidationError

from channels.telegram import parse
from channels.telegram.parse import KNOWN_TYPES, UpdateRejected, parse_update, validate_update
from router.domain.model import InboundKind, InboundMessage
from tests.channels.telegram.conftest import PAYLOADS, payload
from tests.channels.telegram.fake_api import BOT_ID

FIXTURES = sorted(p.stem for p in PAYLOADS.glob("*.json"))
ODD_VALUES: tuple[Any, ...] = (None, "x", "12", 1.5, 2.0, 2**70, True, -1, [], {}, [{}])
OPTIONS = (
    {"group_mode": "mention"},
    {"group_mode": "all", "rerun_rules_on_edit": True},
    {"group_mode": "off", "bot_username": ""},
)


def reference_validate(update: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """What parse_update did before: `Update.model_validate` on the whole update."""
    try:
        parsed = Update.model_validate(update)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UpdateRejected("invalid_update", f"{where}: {first['msg']}") from None
    return parsed.update_id, {k: getattr(parsed, k) for k in update if k in KNOWN_TYPES}


def outcome(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except UpdateRejected as exc:
        return ("rejected", exc.code, str(exc))
    except (OverflowError, ValueError, OSError) as exc:  # e.g. edit_date 2**70, as before
        return ("raised", type(exc).__name__, str(exc))


def dumped(value: Any) -> Any:
    """Objects compared with their set fields too (== ignores model_fields_set)."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
        uid, present = value
        return uid, {k: (v, v.model_dump(exclude_unset=True)) if isinstance(v, BaseModel)
                     else v for k, v in present.items()}
    return value


def comparable(result: Any) -> Any:
    # a callback without an accessible message is stamped with the time of parsing
    if isinstance(result, InboundMessage) and result.kind == InboundKind.CALLBACK \
            and abs(datetime.now(UTC) - result.received_at) < timedelta(minutes=5):
        return dataclasses.replace(result, received_at=None)
    return result


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:2]):
            yield (*prefix, i)
            yield from paths(item, (*prefix, i))


def mutations(update: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in paths(update):
        if path == ("update_id",):
            continue  # checked before validation, same code for both
        for value in (*ODD_VALUES, dataclasses.MISSING):
            variant = copy.deepcopy(update)
            holder = variant
            for step in path[:-1]:
                holder = holder[step]
            if value is dataclasses.MISSING:
                if isinstance(holder, dict):
                    del holder[path[-1]]
                else:
                    holder.pop(path[-1])
            else:
                holder[path[-1]] = value
            yield variant


def combined(update: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Several update types in one update (Telegram never does it, a forger might)."""
    text = payload("message_text_sv")["message"]
    for extra in ({"edited_message": text}, {"channel_post": {"message_id": "x"}},
                  {"poll": {}}, {"message": None}, {"quantum": 1}, {"update_id": True}):
        yield {**update, **extra}


def cases() -> Iterator[dict[str, Any]]:
    for name in FIXTURES:
        update = payload(name)
        yield update
        yield from mutations(update)
        yield from combined(update)


def test_every_update_type_is_an_optional_model_so_the_fast_path_is_on():
    assert parse._TYPE_MODELS is not None
    assert list(parse._TYPE_MODELS) == [k for k in Update.model_fields if k != "update_id"]


def test_fixtures_and_their_mutations_validate_the_same():
    seen = rejected = 0
    for update in cases():
        if not isinstance(update.get("update_id"), int):
            continue
        new, old = outcome(validate_update, update), outcome(reference_validate, update)
        assert dumped(new) == dumped(old), update
        seen += 1
        rejected += isinstance(old, tuple) and old[0] == "rejected"
    assert seen > 3000 and 500 < rejected < seen  # both outcomes well covered


@pytest.mark.parametrize("options", OPTIONS)
def test_fixtures_and_their_mutations_parse_the_same(options, monkeypatch):
    kw = {"bot_name": "support", "bot_username": "support_bot", "bot_id": BOT_ID, **options}
    updates = list(cases())
    new = [comparable(outcome(parse_update, u, **kw)) for u in updates]
    monkeypatch.setattr(parse, "_TYPE_MODELS", None)  # whole-Update validation, as before
    old = [comparable(outcome(parse_update, u, **kw)) for u in updates]
    for update, a, b in zip(updates, new, old, strict=True):
        assert a == b, update


@pytest.mark.parametrize("body, where", [
    ({"update_id": 1, "message": "x"}, "message"),
    ({"update_id": 2, "message": {"message_id": "x"}}, "message.message_id"),
    ({"update_id": 3, "edited_message": {"message_id": 1, "date": 0, "chat": {"id": "a"}}},
     "edited_message.chat.id"),
    ({"update_id": 4, "message": None, "callback_query": []}, "callback_query"),
    # several invalid types: Update reports the first in its field order, not the body's
    ({"update_id": 5, "callback_query": [], "poll": 1, "message": "x"}, "message"),
])
def test_rejection_names_the_same_place(body, where):
    with pytest.raises(UpdateRejected) as new:
        parse_update(body, bot_name="support")
    with pytest.raises(UpdateRejected) as old:
        reference_validate(body)
    assert (new.value.code, str(new.value)) == (old.value.code, str(old.value))
    assert str(new.value).startswith(f"invalid_update: {where}: ")


@pytest.mark.parametrize("text", [
    "/start", "/start billing-sv", "/start@support_bot x", "/help@other_bot", "/x\ny",
    "hello /start", "/", "/" + "a" * 33, " /start", "/start@", "/ä", "/stop   now  ",
])
@pytest.mark.parametrize("username", ["support_bot", ""])
def test_precompiled_command_pattern_matches_as_before(text, username):
    import re

    match = re.match(r"^/([A-Za-z0-9_]{1,32})(?:@(\w+))?(?:\s+(.*))?$", text, re.DOTALL)
    expected = ("", "")
    if match and not (match.group(2) and username
                      and match.group(2).lower() != username.lower()):
        expected = (match.group(1).lower(), (match.group(3) or "").strip())
    assert parse._command(text, username) == expected


@pytest.mark.parametrize("text", ["@support_bot  missä   tilaukseni on?", "hej @Support_Bot",
                                  "@support_botty hi", "\t@support_bot\t\tx"])
def test_precompiled_mention_patterns_strip_as_before(text):
    import re

    pattern = re.compile(r"@support_bot\b", re.IGNORECASE)
    expected = re.sub(r"[ \t]{2,}", " ", pattern.sub("", text)).strip()
    assert parse._strip_mention(text, "support_bot") == expected
