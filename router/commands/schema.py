"""`inquiry-router schema`: a JSON Schema of config.yaml so editors autocomplete it.

The rules package describes the keys it owns; if the router's config module offers a
schema of its own keys (`router.config.json_schema`), both are merged into one document.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("schema", help="write a JSON Schema of the config (for editors)")
    parser.add_argument("--output", "-o", default="-",
                        help="file to write (default: stdout)")
    parser.set_defaults(func=run)


def build() -> dict[str, Any]:
    # the rules package describes its own keys (rules/jsonschema.py builds on rules/schema.py)
    from rules.jsonschema import build as rules_schema

    document = rules_schema()
    document["title"] = "Inquiry Router configuration"
    try:
        from router import config
        router_part = getattr(config, "json_schema", None)
    except ImportError:
        router_part = None
    if router_part is not None:
        other = router_part()
        document["properties"] = {**other.get("properties", {}), **document["properties"]}
        document["$defs"] = {**other.get("$defs", {}), **document["$defs"]}
    document["properties"]["include"] = {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "further YAML files (globs allowed) merged into this one"}
    return document


def run(args: argparse.Namespace) -> int:
    text = json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
