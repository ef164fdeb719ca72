"""Real answers of the main endpoints match what the OpenAPI document says (issue 22)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator


def _validate(doc: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    op = doc["paths"][path][method]
    content = op["responses"][str(status)]["content"]
    schema = {"$ref": content["application/json"]["schema"]["$ref"],
              "components": doc["components"]}
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(schema).iter_errors(body)]
    assert not errors, (method, path, errors)


async def test_main_endpoints_answer_what_the_document_says(api):
    _, doc = await api.call("GET", "/openapi.json", None)
    conv = await api.customer("hej")
    calls = [
        ("GET", "/queues", "/queues", None),
        ("GET", "/conversations", "/conversations", None),
        ("GET", f"/conversations/{conv}", "/conversations/{id}", None),
        ("PATCH", f"/conversations/{conv}", "/conversations/{id}",
         {"priority": "high", "add_tags": ["vip"]}),
        ("GET", "/agents", "/agents", None),
    ]
    for method, url, path, body in calls:
        status, answer = await api.call(method, url, json=body)
        assert status < 300, (method, url, status, answer)
        _validate(doc, method.lower(), path, status, answer)
    status, answer = await api.call("GET", "/conversations/999999")
    _validate(doc, "get", "/conversations/{id}", status, answer)
    status, answer = await api.call("PATCH", f"/conversations/{conv}",
                                    json={"priority": "extreme"})
    assert status == 400
    _validate(doc, "patch", "/conversations/{id}", status, answer)


async def test_the_document_has_the_priority_enum_and_file_downloads(api):
    _, doc = await api.call("GET", "/openapi.json", None)
    schemas = doc["components"]["schemas"]
    assert schemas["Conversation"]["properties"]["priority"]["enum"] == [
        "low", "normal", "high", "urgent"]
    patch = doc["paths"]["/conversations/{id}"]["patch"]["requestBody"]["content"]
    ref = patch["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "urgent" in str(schemas[ref]["properties"]["priority"])
    download = doc["paths"]["/reports/download"]["get"]["responses"]["200"]["content"]
    assert set(download) == {"text/csv", "application/json", "text/html",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert download["text/csv"]["schema"] == {"type": "string"}
