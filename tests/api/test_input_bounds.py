"""Hostile input at every JSON endpoint gets a 4xx, never a 500 (issue 22): JSON nested
10,000 deep, integers beyond 64 bits in paths, queries and bodies, absurd dates."""

from __future__ import annotations

import pytest

from router.web.jsonbody import MAX_DEPTH

DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
JUST_TOO_DEEP = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
HUGE = 2**64 + 1
JSON = {"Content-Type": "application/json"}


async def post_raw(api, path: str, body: bytes, who: str | None = "boss") -> tuple[int, dict]:
    headers = dict(JSON)
    if who is not None:
        headers["Authorization"] = f"Bearer {api.tokens[who]}"
    url = f"http://127.0.0.1:{api.service.port}{path}"
    async with api.http.post(url, data=body, headers=headers) as r:
        return r.status, await r.json()


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, JUST_TOO_DEEP,
                                  b'{"text": "' + b"a" * 10 + b'", "x": 1' + b"0" * 30 + b"}",
                                  b'{"text": "\\ud800"}', b'{"text": NaN}'])
async def test_hostile_json_bodies_are_400_on_api_loopback_and_console(api, body):
    cid = await api.customer()
    for path, who in ((f"/api/v1/conversations/{cid}/note", "boss"),
                      ("/webhooks/loopback", None), ("/console/login", None)):
        status, answer = await post_raw(api, path, body, who)
        assert 400 <= status < 500, (path, status, answer)
        assert "error" in answer


async def test_depth_within_the_limit_reaches_validation(api):
    cid = await api.customer()
    nested = b'{"text": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    status, answer = await post_raw(api, f"/api/v1/conversations/{cid}/note", nested)
    assert status == 400 and answer["error"]["code"] == "invalid"  # pydantic: not a string


async def test_integers_beyond_64_bits_in_paths_queries_and_bodies(api):
    cid = await api.customer()
    for path in (f"/conversations/{HUGE}", f"/conversations/{-HUGE}", f"/contacts/{HUGE}",
                 f"/conversations?contact_id={HUGE}", f"/conversations?limit={HUGE}",
                 f"/contacts/{HUGE}/export"):
        status, answer = await api.call("GET", path)
        assert status == 400, (path, status, answer)
    for path, body in ((f"/contacts/{cid}/merge", {"into": HUGE}),
                       (f"/conversations/{HUGE}/note", {"text": "x"}),
                       ("/agents", {"name": "zed", "capacity": HUGE})):
        status, answer = await api.call("POST", path, json=body)
        assert status == 400, (path, status, answer)
    status, answer = await api.call("GET", f"/conversations/{2**63 - 1}")
    assert status == 404  # the largest id the store holds is a fine id that is not there


@pytest.mark.parametrize("until", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                                   "9999-12-31T23:59:59", "1900-01-01T00:00:00Z"])
async def test_absurd_snooze_dates_are_400(api, until):
    cid = await api.customer()
    await api.call("POST", f"/conversations/{cid}/claim")
    status, answer = await api.call("POST", f"/conversations/{cid}/snooze", json={"until": until})
    assert status == 400 and "date outside" in answer["error"]["message"], answer
