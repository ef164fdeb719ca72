"""The console's FAQ suggestions page: served like the console, reads the admin-only API."""

from __future__ import annotations

import re

import pytest

from router.web.console.faq_page import PAGE
from router.web.static import load_assets
from tests.web.test_console_api import base, http, sign_in  # noqa: F401 (http: a fixture)


def test_the_page_has_one_script_of_ours_and_inserts_text_only() -> None:
    assert re.findall(r"<script[^>]*>", PAGE) == ['<script src="static/faq.js" defer>']
    assert not re.search(r"\son[a-z]+=", PAGE) and "<style" not in PAGE
    js = load_assets("router.web.console")["faq.js"].body.decode()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "outerHTML" not in js
    assert "/faq/suggestions" in js and "textContent" in js


@pytest.mark.asyncio(loop_scope="session")
async def test_served_with_the_consoles_policy_and_the_api_is_for_admins(console_service,
                                                                         http) -> None:  # noqa: F811
    async with http.get(base(console_service) + "/console/faq") as r:
        page = await r.text()
        assert r.status == 200 and "FAQ suggestions · Exempel AB" in page
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
    async with http.get(base(console_service) + "/console/static/faq.js") as r:
        assert r.status == 200 and r.content_type == "text/javascript"
    async with http.get(base(console_service) + "/api/v1/faq/suggestions") as r:
        assert r.status == 401
    status, _ = await sign_in(http, console_service)  # anna is an agent, not an admin
    assert status == 200
    async with http.get(base(console_service) + "/api/v1/faq/suggestions") as r:
        assert r.status == 403 and "for admins" in (await r.json())["error"]["message"]
