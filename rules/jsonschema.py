"""JSON Schema of the rules-owned config keys, for editor autocompletion and validation.

Built from the same registries the loader validates with (`schema.CONDITION_TYPES`,
`schema.ACTION_TYPES`), so the schema cannot drift from what the service accepts.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from rules import schema

REF = "#/$defs/{model}"


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    out = TypeAdapter(tp).json_schema(ref_template=REF)
    defs.update(out.pop("$defs", {}))
    return out


def build() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    cond_ref = {"$ref": "#/$defs/condition"}
    condition_props: dict[str, Any] = {
        "all": {"type": "array", "items": cond_ref, "minItems": 1},
        "any": {"type": "array", "items": cond_ref, "minItems": 1},
        "not": cond_ref,
    }
    for kind, tp in schema.CONDITION_TYPES.items():
        condition_props[kind] = _type_schema(tp, defs)
    defs["condition"] = {
        "anyOf": [
            {"type": "object", "properties": condition_props, "additionalProperties": False,
             "minProperties": 1},
            {"type": "array", "items": cond_ref},
            {"type": "null"},
        ],
        "description": "a condition; several keys or a list mean all of them",
    }
    action_props = {kind: _type_schema(tp, defs) for kind, tp in schema.ACTION_TYPES.items()}
    defs["action"] = {
        "anyOf": [
            {"type": "object", "properties": action_props, "additionalProperties": False,
             "minProperties": 1, "maxProperties": 1},
            {"enum": ["stop", "resolve", "handoff"]},
        ],
    }
    duration = {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"}
    event = {"anyOf": [
        {"enum": [e for e in schema.EVENTS if e != "conversation_idle"]},
        {"type": "object", "properties": {"conversation_idle": duration},
         "required": ["conversation_idle"], "additionalProperties": False},
    ]}
    rule = _type_schema(schema.Rule, defs)
    rule["properties"].update({
        "on": {"anyOf": [event, {"type": "array", "items": event}], "default": "message"},
        "when": cond_ref,
        "then": {"type": "array", "items": {"$ref": "#/$defs/action"}},
    })
    defs["rule"] = rule
    text = {"type": "string", "description": "Jinja2 template, plain text"}
    defs["reply"] = {
        "anyOf": [text, {
            "type": "object",
            "properties": {"buttons": {"type": "array",
                                       "items": _type_schema(schema.Button, defs)}},
            "patternProperties": {"^[a-z]{2,3}$": text},
            "additionalProperties": False,
        }],
    }
    hours = _type_schema(schema.BusinessHours, defs)
    lang = {"type": "string", "pattern": "^[a-z]{2,3}$"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Inquiry Router rules",
        "type": "object",
        "properties": {
            "languages": {"type": "array", "items": lang, "minItems": 1, "default": ["en"]},
            "default_language": lang,
            "language_fallbacks": {"type": "object", "additionalProperties": {
                "type": "array", "items": lang}},
            "business_hours": hours,
            "replies": {"type": "object", "additionalProperties": {"$ref": "#/$defs/reply"}},
            "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
        },
        "$defs": defs,
    }
