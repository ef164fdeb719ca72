"""What schemathesis found the API doing against its own document (issue 22), one test each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.test_input_bounds import post_raw


async def test_a_body_is_documented_as_required_only_when_it_must_say_something(api):
    # a missing body reads as {}: PATCH with none was answered 200 though the document
    # said the body was required
    _, doc = await api.call("GET", "/openapi.json", None)
    paths = doc["paths"]
    assert paths["/conversations/{id}"]["patch"]["requestBody"]["required"] is False
    assert paths["/agents/{name}/tokens"]["post"]["requestBody"]["required"] is False
    assert paths["/conversations/{id}/note"]["post"]["requestBody"]["required"] is True
    cid = await api.customer()
    status, _ = await api.call("PATCH", f"/conversations/{cid}")
    assert status == 200
    status, answer = await api.call("POST", f"/conversations/{cid}/note")
    assert status == 400, answer


async def test_json_bodies_take_the_types_the_document_names(api):
    # pydantic's lax mode read {"online": 0} as false and {"into": "2"} as 2
    cid = await api.customer(sender="u1")
    other = await api.customer(sender="u2")
    contact = (await api.call("GET", f"/conversations/{other}"))[1]["contact_id"]
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    refused = [
        ("/me/presence", {"online": 0}),
        ("/me/presence", {"online": "true"}),
        (f"/contacts/{contact}/merge", {"into": str(contact - 1)}),
        ("/agents", {"name": "zed", "capacity": "5"}),
        ("/agents", {"name": "zed", "capacity": 5.0}),
        (f"/conversations/{cid}/snooze", {"until": int(later.timestamp())}),
        (f"/conversations/{cid}/note", {"text": 5}),
        (f"/contacts/{contact}/erase", {"confirm": 1}),
    ]
    for path, body in refused:
        status, answer = await api.call("POST", path, json=body)
        assert status == 400 and answer["error"]["code"] == "invalid", (path, body, answer)
    status, _ = await api.call("GET", f"/contacts/{contact}")
    assert status == 200  # not erased by {"confirm": 1}
    for path, body in (("/me/presence", {"online": False}),
                       (f"/conversations/{cid}/snooze", {"until": later.isoformat()}),
                       ("/agents", {"name": "zed", "capacity": 5})):
        status, answer = await api.call("POST", path, json=body)
        assert status < 300, (path, body, answer)


async def test_a_query_parameter_given_twice_is_refused(api):
    # ?contact_id=1&contact_id=<junk> was read as the first value, the rest ignored
    cid = await api.customer()
    status, answer = await api.call("GET", "/conversations?contact_id=1&contact_id=x")
    assert status == 400 and "contact_id" in answer["error"]["message"], answer
    status, answer = await api.call("GET", "/conversations?limit=5&order=newest")
    assert status == 200 and [c["id"] for c in answer["items"]] == [cid]


async def test_a_raw_body_with_a_number_for_a_time_is_refused(api):
    cid = await api.customer()
    status, answer = await post_raw(api, f"/api/v1/conversations/{cid}/snooze",
                                    b'{"until": 4000000000}')
    assert status == 400 and "date-time" in answer["error"]["message"], answer
