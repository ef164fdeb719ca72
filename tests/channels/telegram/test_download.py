"""download.enabled: files fetched after the commit via getFile + the file route."""

from __future__ import annotations

import hashlib
import os

from router.domain.model import Direction
from router.store.channel_state import StoreChannelState
from tests.channels.telegram.conftest import CHANNEL, conversation_of, payload, post_update

PHOTO = "AgACAgQAAxkBAAIBQ2d-large"
DOC = "BQACAgQAAxkBAAIBRGd-doc"
ON = {"enabled": True, "max_bytes": 50_000}


def downloader(service):
    return service.channels["telegram:support"].inbound.downloader


async def inbound_attachments(service, chat_id=111222333):
    _, messages = await conversation_of(service, chat_id)
    return [m.attachments for m in messages if m.direction == Direction.INBOUND]


async def test_files_are_downloaded_into_the_store_and_recorded(tg_service, fake_api, http):
    photo, doc = os.urandom(40_000), b"%PDF-1.4 faktura"
    fake_api.add_file(PHOTO, photo)
    fake_api.add_file(DOC, doc, report_size=False)
    service = await tg_service(download=ON)
    for name in ("message_photo", "message_document"):
        assert await post_update(http, service, payload(name)) == 200
    await downloader(service).wait_for(lambda d: len(d.finished) == 2)
    data_dir = service.config.data_path()
    (p,), (d,) = await inbound_attachments(service)
    for att, content in ((p, photo), (d, doc)):
        sha = hashlib.sha256(content).hexdigest()
        assert att["download"] == "done" and att["sha256"] == sha
        assert att["stored"] == f"attachments/telegram/{sha}"
        assert att["stored_size"] == len(content)
        assert (data_dir / att["stored"]).read_bytes() == content
    assert d["ref"] == DOC and d["name"] == "faktura-12.pdf"  # metadata kept
    assert [c.params["file_id"] for c in fake_api.called("getFile")] == [PHOTO, DOC]
    assert sorted(os.listdir(data_dir / "attachments/telegram")) == sorted(
        hashlib.sha256(c).hexdigest() for c in (photo, doc))  # no partial files left


async def test_size_limit_is_enforced_while_streaming_and_unknown_files_fail(
        tg_service, fake_api, http):
    fake_api.add_file(PHOTO, b"x" * 120_000, report_size=False)  # the size only shows later
    service = await tg_service(download=ON)
    assert await post_update(http, service, payload("message_photo")) == 200
    assert await post_update(http, service, payload("message_document")) == 200  # unknown id
    await downloader(service).wait_for(lambda d: len(d.finished) == 2)
    (p,), (d,) = await inbound_attachments(service)
    assert p["download"] == "too_large" and "stored" not in p
    assert d["download"] == "failed" and "invalid file_id" in d["download_error"]
    assert os.listdir(service.config.data_path() / "attachments/telegram") == []


async def test_a_reported_size_over_the_limit_is_not_fetched(tg_service, fake_api, http):
    fake_api.add_file(PHOTO, b"x" * 60_000)
    service = await tg_service(download=ON)
    assert await post_update(http, service, payload("message_photo")) == 200
    await downloader(service).wait_for(lambda d: len(d.finished) == 1)
    ((p,),) = await inbound_attachments(service)
    assert p["download"] == "too_large"
    assert fake_api.attempts("file") == []


async def test_a_pending_download_is_committed_with_the_message_and_done_after_restart(
        tg_service, fake_api, http, make_config, start_service):
    fake_api.add_file(DOC, b"invoice")
    fake_api.fail("getFile", 500, times=1000)  # the Bot API is down
    service = await tg_service(download=ON)
    assert await post_update(http, service, payload("message_document")) == 200
    await fake_api.wait_for(lambda api: len(api.attempts("getFile")) >= 1)
    _, messages = await conversation_of(service, 111222333)
    (message,) = [m for m in messages if m.direction == Direction.INBOUND]
    # the job is in the store, not only in memory; its lease is in the channel's state
    assert message.attachments[0]["download"] == "pending"
    lease = f"download:{message.id}:0"
    assert list(await StoreChannelState(service.store, CHANNEL).scan("download:")) == [lease]
    await service.stop()

    fake_api.clear_failures()
    again = await start_service(service.config, None)
    await downloader(again).wait_for(lambda dl: len(dl.finished) == 1)
    ((d,),) = await inbound_attachments(again)
    assert d["download"] == "done"
    assert (again.config.data_path() / d["stored"]).read_bytes() == b"invoice"
    assert len(await inbound_attachments(again)) == 1  # nothing ingested twice
    assert await StoreChannelState(again.store, CHANNEL).scan("download:") == {}  # lease gone


async def test_downloads_are_off_by_default(tg_service, fake_api, http):
    fake_api.add_file(DOC, b"invoice")
    service = await tg_service()
    assert downloader(service) is None
    assert await post_update(http, service, payload("message_document")) == 200
    ((d,),) = await inbound_attachments(service)
    assert "download" not in d
