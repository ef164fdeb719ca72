"""Pure parts of the console: which desk events become web chat signals, the sign-in
back-off, and the packaged page (no inline script, no third-party URL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from router.domain.model import Event
from router.store.base import SigninLimit
from router.web.console.assets import CSP
from router.web.console.signals import signal_of
from router.web.console.throttle import MAX_LOCK_MS, WINDOW_MS, charge
from router.web.static import load_assets

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


def test_reaching_the_limit_locks_with_exponential_back_off() -> None:
    cur = SigninLimit("acct:anna@1.2.3.4", 0, 0, 0, 0, 0)
    locks = []
    t = 0
    for _ in range(4):
        for _ in range(3):
            cur = charge(cur, 3, t)
        locks.append(cur.blocked_until - t)
        t = cur.blocked_until
    assert locks == [WINDOW_MS, 2 * WINDOW_MS, 4 * WINDOW_MS, 8 * WINDOW_MS]
    for _ in range(30):
        cur = charge(cur, 1, t)
    assert cur.blocked_until - t == MAX_LOCK_MS  # capped
    later = charge(cur, 3, t + 2 * WINDOW_MS)
    assert later.failures == 1 and later.window_start == t + 2 * WINDOW_MS  # a new window
    assert charge(cur, 1, t + 25 * 3600_000).strikes == 1  # a quiet day forgets strikes


def test_the_page_has_no_inline_script_and_no_third_party_url() -> None:
    assets = load_assets("router.web.console")
    assert {"console.html", "console.js", "console.css"} <= set(assets)
    page = assets["console.html"].body.decode()
    scripts = re.findall(r"<script[^>]*>", page)
    # console.js first (the others build on window.consoleApp), every one of ours, deferred
    assert scripts[:3] == ['<script src="console/static/console.js" defer>',
                           '<script src="console/static/sso.js" defer>',
                           '<script src="console/static/signin2fa.js" defer>']
    for tag in scripts:
        name = re.fullmatch(r'<script src="console/static/([a-z0-9]+\.js)" defer>', tag)
        assert name and name[1] in assets, tag
    assert {"contacts.js", "macros.js"} <= set(re.findall(r"console/static/(\w+\.js)", page))
    assert not re.search(r"\son[a-z]+=", page)  # no inline handlers (the CSP would block them)
    for asset in assets.values():
        assert not re.search(rb"https?://(?!www\.w3\.org/2000/svg)", asset.body)
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    for name in ("console.js", "contacts.js", "macros.js"):
        js = assets[name].body.decode()
        assert "innerHTML" not in js and "insertAdjacentHTML" not in js, name
