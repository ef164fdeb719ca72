"""Where the CSAT signing key comes from, and who may make it.

An admin's `bots.csat.secret` wins, then `CSAT_SECRET`, then `data/csat.secret`, made once
by the service. `check` and `try` only look: they never make the key file. The fresh-install
end to end (real `serve`, web chat, restart) is tests/web/test_csat_fresh_install.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bots.csat import CsatSigner, InvalidToken
from bots.state import CSAT
from router.cli import main
from router.config import load_config
from router.configuration.local_secret import peek_secret
from router.domain.errors import ConfigError
from router.domain.model import Decision, Status
from router.service import Service
from router.store.base import parse_ts
from router.wiring import build_decide
from tests.bots.helpers import ROOT, ctx, make_bots, replies

CONFIGURED = "configured-secret-0123456789"
FROM_ENV = "environment-secret-0123456789"
CONFIG = """
service: {acknowledge: processed}
channels:
  loopback: {deliver_url: "%s"}
agents:
  boss: {name: Bo Boss, role: admin}
"""


@pytest.fixture(autouse=True)
def _no_variable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CSAT_SECRET", raising=False)
    yield


async def survey_on_resolve(service: Service, recorder) -> dict:
    """A customer message, an admin's resolve through the desk; the survey delivered."""
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{service.port}/webhooks/loopback",
            json={"id": "k1", "thread": "t1", "from": "u1", "text": "hello"}) as resp:
        conv_id = (await resp.json())["conversation_id"]
    desk = service.agents.desk
    boss = await service.store.read(lambda tx: tx.get_agent("boss"))
    delivered = len(recorder.delivered)
    await desk.resolve(conv_id, boss)
    service.dispatcher.wake()
    await recorder.wait_for(lambda r: any(
        d.body.get("quick_replies") for d in list(r.delivered.values())[delivered:]))
    [survey] = [d.body for d in recorder.delivered.values() if d.body.get("quick_replies")]
    conv = await service.store.read(lambda tx: tx.get_conversation(conv_id))
    return {"conversation_id": conv_id, "expires": parse_ts(conv.metadata[CSAT]["expires"]),
            **survey}


def verifies(survey: dict, secret: str) -> bool:
    """Whether `secret` signed the survey's buttons (their expiry is on the conversation)."""
    try:
        CsatSigner(secret).verify_payload(survey["quick_replies"][0]["payload"],
                                          conversation_id=survey["conversation_id"],
                                          expires=survey["expires"], now=datetime.now(UTC))
    except InvalidToken:
        return False
    return True


async def test_a_configured_secret_wins_and_no_key_file_is_made(make_config, start_service,
                                                                recorder):
    config = make_config(CONFIG % recorder.url + f"bots: {{csat: {{secret: {CONFIGURED}}}}}\n")
    service = await start_service(config, build_decide(config))
    survey = await survey_on_resolve(service, recorder)
    assert verifies(survey, CONFIGURED)
    assert not config.data_path("csat.secret").exists()


async def test_the_variable_wins_over_the_file(make_config, start_service, recorder,
                                              monkeypatch):
    monkeypatch.setenv("CSAT_SECRET", FROM_ENV)
    config = make_config(CONFIG % recorder.url)
    service = await start_service(config, build_decide(config))
    survey = await survey_on_resolve(service, recorder)
    assert verifies(survey, FROM_ENV)
    assert not config.data_path("csat.secret").exists()


async def test_without_settings_the_key_file_is_made_once(make_config, start_service, recorder):
    config = make_config(CONFIG % recorder.url)
    service = await start_service(config, build_decide(config))
    key = config.data_path("csat.secret").read_text(encoding="utf-8").strip()
    survey = await survey_on_resolve(service, recorder)
    assert verifies(survey, key) and not verifies(survey, FROM_ENV)
    assert config.data_path("csat.secret").read_text(encoding="utf-8").strip() == key


async def test_a_short_variable_stops_the_start_without_showing_it(make_config, monkeypatch):
    monkeypatch.setenv("CSAT_SECRET", "tooshort-42")
    service = Service(make_config(CONFIG % "http://127.0.0.1:9/"))
    try:
        with pytest.raises(ConfigError) as info:
            await service.start(port=0)
    finally:
        await service.stop()
    assert "CSAT_SECRET needs at least 16 characters" in str(info.value)
    assert "tooshort-42" not in str(info.value)


async def test_disabled_sends_no_survey_and_serves_no_links(make_config, start_service):
    config = make_config("bots: {csat: {enabled: false}}\n")
    service = await start_service(config, build_decide(config))
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{service.port}/csat/1.2.abc?score=5") as resp:
        assert resp.status == 404
    assert not config.data_path("csat.secret").exists()
    d = service.decider()(ctx(status=Status.RESOLVED, event="resolved"))
    assert replies(d) == []


def _shipped(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "config.d", tmp_path / "config.d")
    return tmp_path / "config.yaml"


def test_check_and_try_make_no_key(tmp_path, capsys):
    path = _shipped(tmp_path)
    assert main(["check", "--config", str(path)]) == 0
    assert main(["try", "--config", str(path), "--text", "Hej!", "--event", "resolved"]) == 0
    capsys.readouterr()
    assert not (tmp_path / "data" / "csat.secret").exists()
    # `try` signs a survey with a throwaway key; the service's decision makes the file
    config = load_config(path)
    dry = build_decide(config, csat_key=peek_secret(config.data_path(), "csat"))
    resolved = ctx(status=Status.RESOLVED, event="resolved", language="sv")
    [survey] = replies(dry.bots.decide(resolved, Decision()))
    assert len(survey.quick_replies) == 5
    assert not (tmp_path / "data" / "csat.secret").exists()
    served = build_decide(config)
    [survey] = replies(served.bots.decide(resolved, Decision()))
    assert (tmp_path / "data" / "csat.secret").exists()
    assert served.bots.signer.secret == (tmp_path / "data" / "csat.secret").read_text().strip()


@pytest.mark.parametrize("channel", ["webchat", "telegram", "slack", "loopback", "email"])
def test_every_channel_gets_its_survey_by_default(tmp_path, channel):
    bots = make_bots(tmp_path, 'service: {public_url: "https://support.example.com"}\n',
                     with_faq=False)
    [survey] = replies(bots.decide(ctx(status=Status.RESOLVED, event="resolved", channel=channel,
                                       language="fi"), Decision()))
    assert survey.language == "fi"
    if channel == "email":  # signed links instead of buttons
        assert survey.quick_replies == () and "https://support.example.com/csat/7." in survey.text
    else:
        assert [q.label for q in survey.quick_replies] == ["1", "2", "3", "4", "5"]
