"""The Bot's answer types are built once, not again after each garbage collection."""

from __future__ import annotations

import gc

from aiogram.methods import Response
from aiogram.types import Chat, Message
from pydantic._internal import _generics

from channels.telegram.adapter import TelegramAdapter
from channels.telegram.client import USED_METHODS, keep_response_types
from channels.telegram.settings import BotSettings
from router.domain.model import OutboundMessage, QuickReply
from tests.channels.telegram.fake_api import TOKEN


def count_generic_builds(monkeypatch) -> list[str]:
    built: list[str] = []
    real = _generics.create_generic_submodel

    def counting(name, *args, **kw):
        built.append(name)
        return real(name, *args, **kw)

    monkeypatch.setattr(_generics, "create_generic_submodel", counting)
    return built


def test_unreferenced_generic_is_rebuilt_after_a_collection(monkeypatch):
    """What the kept references are for: pydantic's cache holds them only weakly."""
    built = count_generic_builds(monkeypatch)
    first = id(Response[Chat])  # not one of ours: nothing keeps it
    gc.collect()
    Response[Chat]
    assert built.count("Response[Chat]") >= 1, (first, built)


def test_answer_types_of_every_method_we_call_survive_collections(monkeypatch):
    kept = keep_response_types()
    assert set(USED_METHODS) <= set(kept)
    built = count_generic_builds(monkeypatch)
    gc.collect()
    for method in USED_METHODS:
        assert Response[method.__returning__] is kept[method]
    assert built == []


async def test_sends_build_no_model_classes_and_request_the_same(fake_api, monkeypatch):
    adapter = TelegramAdapter(settings=BotSettings(
        name="t", token=TOKEN, mode="polling", api_base=fake_api.base,
        rate_limits={"per_chat_per_second": 1000, "global_per_second": 1000}))
    built = count_generic_builds(monkeypatch)
    try:
        for i in range(3):
            gc.collect()
            result = await adapter.send(OutboundMessage(
                outbox_id=i, idempotency_key=f"k{i}", channel="telegram:t", thread_key="42",
                recipient="42", text=f"Hej <{i}> & tack",
                quick_replies=(QuickReply("Ja", "yes"),)))
            assert result.external_id
    finally:
        await adapter.stop()
    assert built == []
    calls = fake_api.called("sendMessage")
    assert [c.params["text"] for c in calls] == [f"Hej &lt;{i}&gt; &amp; tack" for i in range(3)]
    assert all(c.params["chat_id"] == "42" and c.params["parse_mode"] == "HTML"
               and "reply_markup" in c.params for c in calls)
    assert isinstance(keep_response_types()[next(iter(USED_METHODS))], type)
    assert Message in [m.__returning__ for m in USED_METHODS]
