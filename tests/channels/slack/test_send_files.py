"""An agent's files on Slack (issue 24): uploaded with files_upload_v2 into the customer's
thread after the text, named by the agent when sent alone, resumed without repeating
after a rate limit, and a file gone from disk is a permanent error."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.slack.adapter import SlackAdapter
from channels.slack.settings import SlackSettings
from router.domain.errors import ChannelError, ChannelRateLimited
from router.domain.model import AuthorKind, OutboundMessage
from tests.channels.slack.conftest import GENERAL
from tests.channels.slack.fake_api import SECRET, TOKEN

THREAD = f"{GENERAL}:1700000100.000200"
PDF = b"%PDF-1.4\n% offert\n"


@pytest.fixture
async def adapter(slack_api):
    made = SlackAdapter(settings=SlackSettings(bot_token=TOKEN, signing_secret=SECRET,
                                               api_base=slack_api.base_url))
    yield made
    await made.stop()


def out(text: str, *files: dict[str, str], key: str = "k1") -> OutboundMessage:
    return OutboundMessage(outbox_id=1, idempotency_key=key, channel="slack", thread_key=THREAD,
                           recipient="U0CUST0001", text=text, author_kind=AuthorKind.AGENT,
                           author_name="Anna", metadata={"attachments": list(files)})


def pdf(tmp_path: Path, name: str = "offert.pdf") -> dict[str, str]:
    path = tmp_path / name
    path.write_bytes(PDF)
    return {"kind": "file", "name": name, "mime": "application/pdf", "path": str(path)}


async def test_files_follow_the_text_in_the_thread(adapter, slack_api, tmp_path) -> None:
    await adapter.send(out("Här är offerten.", pdf(tmp_path)))
    assert [p["text"] for p in slack_api.posted(GENERAL)] == ["*Anna:* Här är offerten."]
    (done,) = slack_api.called("files.completeUploadExternal")
    assert done.params["channel_id"] == GENERAL and done.params["thread_ts"] == "1700000100.000200"
    assert "initial_comment" not in done.params
    (asked,) = slack_api.called("files.getUploadURLExternal")
    assert asked.params["filename"] == "offert.pdf" and asked.params["length"] == str(len(PDF))
    assert list(slack_api.uploads.values()) == [PDF]


async def test_a_file_alone_is_named_and_a_retry_does_not_repeat(adapter, slack_api,
                                                                  tmp_path) -> None:
    slack_api.rate_limit("files.completeUploadExternal", retry_after=3)
    with pytest.raises(ChannelRateLimited):
        await adapter.send(out("", pdf(tmp_path)))
    await adapter.send(out("", pdf(tmp_path)))
    assert slack_api.posted() == []  # no empty text message
    (done,) = slack_api.called("files.completeUploadExternal")
    assert done.params["initial_comment"] == "*Anna:*"
    with pytest.raises(ChannelError) as gone:
        await adapter.send(out("x", {"kind": "file", "name": "gone.pdf",
                                     "path": str(tmp_path / "missing")}, key="k2"))
    assert gone.value.permanent
