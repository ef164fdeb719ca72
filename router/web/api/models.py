"""Base models for what the API reads: query strings and JSON request bodies.

Both refuse unknown fields. A query string is all text, so its values are converted
(`?limit=20` is the integer 20). A JSON body is taken as the document describes it:
`{"online": 0}` is not a boolean and `{"into": "5"}` is not an integer, so they are a
400 rather than quietly read as something else (schemathesis found the API accepting
them, issue 22). Times are the one conversion a body needs: an ISO 8601 string.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JsonBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("expected a date-time string (ISO 8601)")
    return value


#: an ISO 8601 date-time string in a JSON body (not a number of seconds)
IsoTime = Annotated[datetime, Field(strict=False), BeforeValidator(_iso_text)]
