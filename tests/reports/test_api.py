"""Reports and privacy over /api/v1: admins only, documented, and they work end to end."""

from __future__ import annotations

import aiohttp

from tests.api.conftest import api, api_factory  # noqa: F401  (fixtures)


async def test_reports_are_for_admins_and_come_as_json_and_files(api):  # noqa: F811
    await api.customer("hello")
    status, body = await api.call("GET", "/reports", "ann")
    assert status == 403
    status, body = await api.call("GET", "/reports?by=queue")
    assert status == 200 and body["totals"]["opened"] == 1
    assert body["by"]["queue"][0]["key"] == "general"
    status, body = await api.call("GET", "/reports?start=2026-13-01")
    assert status == 400
    headers = {"Authorization": f"Bearer {api.tokens['boss']}"}
    async with api.http.get(api.base + "/reports/download?format=html", headers=headers) as r:
        assert r.status == 200 and r.content_type == "text/html"
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]
        assert "<svg" in await r.text()
    async with api.http.get(api.base + "/reports/download?format=csv&by=channel",
                            headers=headers) as r:
        lines = (await r.text()).splitlines()
        assert lines[0].startswith("dimension,key,opened") and lines[1].startswith("channel,loopback,1")


async def test_export_and_erase_a_contact(api):  # noqa: F811
    cid = await api.customer("my number is +46 70 111 22 33", sender="ulla@example.se")
    status, conv = await api.call("GET", f"/conversations/{cid}")
    contact = conv["contact_id"]
    status, _ = await api.call("GET", f"/contacts/{contact}/export", "ann")
    assert status == 403
    status, doc = await api.call("GET", f"/contacts/{contact}/export")
    assert status == 200 and doc["tables"]["identities"][0]["external_id"] == "ulla@example.se"
    status, _ = await api.call("POST", f"/contacts/{contact}/erase", json={})
    assert status == 400  # confirm: true is required
    status, result = await api.call("POST", f"/contacts/{contact}/erase", json={"confirm": True})
    assert status == 200 and result["rows"]["identities"] == 1
    status, doc = await api.call("GET", f"/contacts/{contact}/export")
    text = str(doc)
    assert "ulla@example.se" not in text and "111 22 33" not in text and "Ulla" not in text
    status, _ = await api.call("GET", "/contacts/999999/export")
    assert status == 404


async def test_the_console_reports_page_is_served(api):  # noqa: F811
    base = f"http://127.0.0.1:{api.service.port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(base + "/console/login", json={"token": api.tokens["boss"]}) as r:
            assert r.status == 200
        async with http.get(base + "/console/reports") as r:
            assert r.status == 200
            assert "api/v1/reports/download" in await r.text()
