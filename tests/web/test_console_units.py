"""Pure parts of the console: which desk events become web chat signals, the sign-in
limiter, and the packaged page (no inline script, no third-party URL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from router.console.assets import CSP
from router.console.signals import signal_of
from router.console.signin import FailureLimiter
from router.model import Event
from router.static import load_assets

NAMES = {"anna": "Anna Berg", "olle": "Olle Ek"}


def _event(kind: str, **data: object) -> Event:
    return Event(1, kind, datetime.now(UTC), 7, "agent:anna", dict(data))


def test_desk_events_become_web_chat_signals() -> None:
    assert signal_of(_event("assigned", agent="anna", reason="claim"), NAMES) == (
        "agent_joined", "Anna Berg")
    assert signal_of(_event("resolved", agent="anna"), NAMES) == ("resolved", "Anna Berg")
    assert signal_of(_event("transferred", from_agent="anna", to_agent="olle"), NAMES) == (
        "agent_joined", "Olle Ek")
    assert signal_of(_event("transferred", from_agent="anna", to_agent="", to_queue="billing"),
                     NAMES) == ("agent_left", "Anna Berg")
    assert signal_of(_event("transferred", from_agent="", to_agent=""), NAMES) is None
    assert signal_of(_event("assigned", agent="zoe"), NAMES) == ("agent_joined", "zoe")
    assert signal_of(_event("note_added"), NAMES) is None


def test_the_limiter_counts_failures_per_address_within_the_window() -> None:
    limiter = FailureLimiter(limit=3, window=60)
    for t in (0, 1, 2):
        assert limiter.blocked("a", t) == 0
        limiter.failed("a", t)
    assert limiter.blocked("a", 3) == 57
    assert limiter.blocked("b", 3) == 0
    assert limiter.blocked("a", 61) == 0  # the first failure aged out


def test_the_page_has_no_inline_script_and_no_third_party_url() -> None:
    assets = load_assets("router.console")
    assert {"console.html", "console.js", "console.css"} <= set(assets)
    page = assets["console.html"].body.decode()
    assert re.findall(r"<script[^>]*>", page) == ['<script src="console/static/console.js" defer>']
    assert not re.search(r"\son[a-z]+=", page)  # no inline handlers (the CSP would block them)
    for asset in assets.values():
        assert not re.search(rb"https?://(?!www\.w3\.org/2000/svg)", asset.body)
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    js = assets["console.js"].body.decode()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js
