"""Bearer tokens and roles: 401/403 with a JSON body; tokens never reach the log."""

from __future__ import annotations

import logging

import aiohttp


async def test_missing_wrong_and_revoked_tokens_get_401_json(api):
    status, body = await api.call("GET", "/me", None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await api.call("GET", "/me", token="irt_not-a-real-token")
    assert status == 401 and "message" in body["error"]
    status, body = await api.call("GET", "/me", "ann")
    assert status == 200 and body["name"] == "ann" and body["role"] == "agent"
    status, body = await api.call("DELETE", "/agents/ann/tokens")
    assert status == 200 and body["revoked"] == 1
    status, body = await api.call("GET", "/me", "ann")
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_agents_cannot_manage_agents(api):
    for method, path, payload in [("POST", "/agents", {"name": "eve"}),
                                  ("POST", "/agents/bob/disable", None),
                                  ("POST", "/agents/bob/tokens", {}),
                                  ("DELETE", "/agents/bob/tokens", None)]:
        status, body = await api.call(method, path, "ann", json=payload)
        assert status == 403 and body["error"]["code"] == "forbidden", path
    status, body = await api.call("POST", "/agents", json={"name": "eve", "capacity": 2})
    assert status == 201 and body["name"] == "eve"
    status, body = await api.call("POST", "/agents/eve/tokens", json={"label": "laptop"})
    assert status == 201 and body["token"].startswith("irt_")
    status, me = await api.call("GET", "/me", token=body["token"])
    assert status == 200 and me["name"] == "eve"
    status, _ = await api.call("POST", "/agents/eve/disable")
    assert status == 200
    status, _ = await api.call("GET", "/me", token=body["token"])
    assert status == 401


async def test_tokens_never_appear_in_logs(api_factory, caplog):
    caplog.set_level(logging.DEBUG)
    api = await api_factory()
    await api.call("GET", "/me", "ann")
    await api.call("GET", "/me", token="irt_wrong-token-value-123")
    _status, body = await api.call("POST", "/agents/bob/tokens", json={})
    await api.call("GET", "/conversations", token=body["token"])
    async with api.http.ws_connect(f"{api.base}/stream?access_token={api.tokens['bob']}") as ws:
        assert (await ws.receive_json())["type"] == "hello"
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for secret in [*api.tokens.values(), body["token"], "irt_wrong-token-value-123"]:
        assert secret not in logged


async def test_openapi_needs_no_token_and_unknown_api_paths_are_json_404(api):
    async with aiohttp.ClientSession() as http, http.get(f"{api.base}/openapi.json") as resp:
        assert resp.status == 200 and (await resp.json())["openapi"] == "3.1.0"
    status, body = await api.call("GET", "/nope")
    assert status == 404 and body["error"]["code"] == "not_found"
