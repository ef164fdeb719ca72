"""The webhook's JSON decoding (router/web/jsonbody.py: orjson, json.loads where they would
differ) gives exactly what json.loads gives, with lone surrogates and NULs (which
PostgreSQL text refuses) replaced by U+FFFD, or
refuses the body (PayloadRejected) when it could never be processed: nesting beyond 1,024
levels, integers beyond 64 bits, NaN and infinities, invalid JSON (issue 22)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.telegram.jsonbody import loads
from router.domain.errors import PayloadRejected
from tests.channels.telegram.conftest import PAYLOADS


def replaced(value: Any) -> Any:
    """`value` with lone surrogates and NULs replaced, as the webhook reads them."""
    if isinstance(value, dict):
        return {replaced(k): replaced(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replaced(v) for v in value]
    if isinstance(value, str):
        return (value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                .replace("\x00", "\ufffd"))
    return value


def typed(value: Any) -> Any:
    """The value with every scalar's type spelled out (1 == 1.0 == True otherwise), and
    NaN made comparable."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def same_as_json_loads(body: bytes) -> None:
    """Accepted: what json.loads gives (surrogates replaced); or refused, bounded."""
    try:
        got = loads(body)
    except PayloadRejected:
        return
    assert typed(got) == typed(replaced(json.loads(body))), body


@pytest.mark.parametrize("body", [
    b"[" * 1025 + b"]" * 1025, b"[" * 2000 + b"]" * 2000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b"18446744073709551616", b"9223372036854775808", b"-9223372036854775809",
    b'{"chat": {"id": 123456789012345678901234567890}}', b"NaN", b"[Infinity]", b"{",
])
def test_what_could_never_be_processed_is_refused(body):
    with pytest.raises(PayloadRejected):
        loads(body)


def test_lone_surrogates_are_replaced():
    assert loads(b'{"t": "a\\ud800b\\udfff", "\\udc00": 1}') == {"t": "a\ufffdb\ufffd", "\ufffd": 1}
    assert loads(b'"\\ud83d\\ude00"') == "\U0001f600"  # a pair is a character


def test_nul_characters_are_replaced():
    # valid JSON, but a PostgreSQL text column refuses it: acknowledged, it failed for good
    assert loads(b'{"text": "a\\u0000b", "\\u0000": "\\u0000"}') == {
        "text": "a\ufffdb", "\ufffd": "\ufffd"}


@pytest.mark.parametrize("body", [
    b"{}", b"[]", b'{"a":1,"a":2}', b"1e400", b"-1e400", b"-0.0", b"0.1", b"1E5", b"1e-400",
    b"9223372036854775807", b"-9223372036854775808", b"18446744073709551615",
    b"18446744073709551616", b"-9223372036854775809", b"123456789012345678901234567890",
    b'{"update_id": 123456789012345678901234567890}', b'{"id": "1234567890123456789"}',
    b"2.2250738585072011e-308", b"NaN", b"Infinity", b"-Infinity", b'"\\ud800"',
    b'"\\ud83d\\ude00"', b'"\xed\xa0\x80"', b"\xef\xbb\xbf{}", b'"a\x01b"', b"[1,]", b"01",
    b"", b" ", b"{", b"\xff", b'"\\u0000"', b"\t{}\r\n", '{"ä": "ö"}'.encode("utf-16"),
    '{"ä": "ö"}'.encode("utf-32"), b"[" * 2000 + b"]" * 2000,
])
def test_edge_cases(body):
    same_as_json_loads(body)


def test_every_fixture_update():
    for path in PAYLOADS.glob("*.json"):
        same_as_json_loads(path.read_bytes())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**80, max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_generated_documents(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    same_as_json_loads(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.text(alphabet='{}[]",:0123456789.eE+-\\u tfnrl ',
                                        max_size=30).map(str.encode))
def test_arbitrary_bytes(body):
    same_as_json_loads(body)
