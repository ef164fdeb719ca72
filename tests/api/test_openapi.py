"""The OpenAPI document matches the mounted routes and is a well-formed 3.1 document."""

from __future__ import annotations

import re

from router.web.api import ROUTES

METHODS = {"get", "put", "post", "delete", "patch"}


def _refs(node, found):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                found.add(v)
            else:
                _refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _refs(v, found)
    return found


async def test_every_route_is_documented_and_the_document_is_valid(api):
    status, doc = await api.call("GET", "/openapi.json", None)
    assert status == 200 and doc["openapi"] == "3.1.0" and doc["info"]["title"]
    served = {(r.method.lower(), r.resource.canonical)
              for r in api.service.agents.api.router.routes() if r.method != "HEAD"}
    base = doc["servers"][0]["url"]
    assert base == "/api/v1"
    documented = {(m, base + p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented and len(served) > 20
    assert {(r.method.lower(), base + r.path) for r in api.service.agents.api[ROUTES]} == served
    op_ids = set()
    for path, ops in doc["paths"].items():
        assert path.startswith("/")
        for method, op in ops.items():
            assert method in METHODS
            assert op["operationId"] not in op_ids
            op_ids.add(op["operationId"])
            assert op["responses"] and all(re.fullmatch(r"[1-5]\d\d", c) for c in op["responses"])
            for resp in op["responses"].values():
                assert resp["description"]
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path))
            for p in op["parameters"]:
                assert p["in"] in {"path", "query", "header", "cookie"} and "schema" in p
                assert p["in"] != "path" or p["required"] is True
            for req in op.get("security", []):
                assert set(req) <= set(doc["components"]["securitySchemes"])
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc, set()):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    admin_only = doc["paths"]["/agents"]["post"]
    assert "401" in admin_only["responses"] and "403" in admin_only["responses"]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []


async def test_the_document_passes_the_openapi_3_1_validator(api):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator

    status, doc = await api.call("GET", "/openapi.json", None)
    assert status == 200
    validate(doc, cls=OpenAPIV31SpecValidator)  # raises with the offending path if invalid
