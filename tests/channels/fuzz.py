"""Mutations of real platform input, for the fuzz tests of each channel (issue 22).

Hypothesis draws the mutations, derandomized so a run is repeatable: of stored real
webhook payloads and web chat frames (`mutated`: one to three per payload, a leaf or
subtree replaced by a hostile value, or a key dropped), of real raw mails
(`mutated_mail`: hostile header values, headers dropped or doubled, bodies replaced, bytes
spliced in or cut off), and any text a customer may type (`TEXTS`). Each batch goes to one
real service, by default on the shipped rules and bots (`shipped_config`). Must hold: no
answer >= 500, and nothing acknowledged then fails (the backlog marks nothing failed).
The tests count their cases in tests/fuzz_counts.py."""

from __future__ import annotations

import copy
import json
import logging
import math
import shutil
import textwrap
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.config import Config, load_config
from tests.conftest import ROOT, write_config

EXAMPLES = 200

HOSTILE = st.one_of(
    st.sampled_from([2**64 + 1, -(2**63) - 1, 2**63, 2**63 - 1, -1, 0, 10**30, True, None, "",
                     "\ud800", "a\udfffb", "x" * 5000, [], {}, 1.5, -0.0, math.inf, math.nan,
                     "[" * 50, {"a": [[[[]]]]}]),
    st.integers(), st.text(max_size=20), st.floats(), st.booleans(),
    st.recursive(st.integers() | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3),
                 max_leaves=10),
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, originals: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 3))):
        where = paths(doc)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(HOSTILE)
    return doc


#: what a customer may type: any text UTF-8 can carry (lone surrogates cannot), and a few
#: known troublemakers (NUL, bidi controls, combining marks, emoji sequences, long lines)
TEXTS = st.one_of(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["\x00", "a\x00b", "\u202eevil\u202c", "e\u0301\u0301\u0301" * 50,
                     "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 20, "\r\n.\r\n", "\ufeff",
                     "x" * 4000, " \t\n ", "<script>alert(1)</script>", "{{ 7*7 }}",
                     "=?utf-8?b?w6U=?=", "\u0000\u0001\u001f\u007f\u0085\u2028\u2029"]),
)


def examples(strategy: st.SearchStrategy[Any], n: int = EXAMPLES) -> list[Any]:
    """`n` values drawn from `strategy`, the same ones on every run."""
    drawn: list[Any] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(value: Any) -> None:
        drawn.append(value)

    draw()
    return drawn


def collect(originals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return examples(mutated(originals))


# --- raw mails --------------------------------------------------------------------------
#: the Message-ID each original gets (tests make it unique per mail after mutating)
MESSAGE_ID = b"<MID@fuzz.example>"
MAIL_HEADERS = [b"From", b"To", b"Cc", b"Reply-To", b"Sender", b"Subject", b"Date", b"Message-ID",
                b"In-Reply-To", b"References", b"Content-Type", b"Content-Transfer-Encoding",
                b"MIME-Version", b"Auto-Submitted", b"Precedence", b"Return-Path", b"X-Mailer"]
HOSTILE_HEADER_VALUES = st.one_of(
    st.sampled_from([
        b"", b" ", b"\t", b"=?utf-8?b?////?=", b"=?utf-8?b?7aCA?=", b"=?x-unknown?q?=FF=FE?=",
        b"=?utf-8?q?a=00b?=", b"=?utf-8?q?=ED=A0=80?=", b"=?iso-2022-jp?b?GyRC?=", b"=?utf-8?",
        b"\xff\xfe\xfd", b"a\x00b", b"\xc3\x28", b"\xed\xa0\x80", b"<" * 500, b">" * 500,
        b"x" * 20_000, b"a\r\n", b"\r\n\t\r\n\t", b"@", b"<>", b"<@>", b"<<a@b>>",
        b'"unterminated <a@b.example', b"a@b@c", b"undisclosed-recipients:;", b"((((((((((",
        "Ülla Öberg <ülla@exämple.se>".encode(), b"support@example.com", b"<support@example.com>",
        b"multipart/mixed", b"multipart/mixed; boundary=", b'multipart/alternative; boundary="x"',
        b"text/plain; charset=x-unknown", b"text/plain; charset=utf-7", b"text/html; charset=utf-16",
        b"message/rfc822", b'text/plain; charset="', b"base64", b"quoted-printable", b"x-uuencode",
        b"auto-replied", b"bulk", b"Tue, 31 Feb 9999 25:61:61 -9999", b"0", b"-1",
        b"Mon, 01 Jan 0001 00:00:00 +0000", b"<" + b"a" * 998 + b"@b>",
        b" ".join(b"<r%d@x>" % i for i in range(2000)),
    ]),
    st.binary(max_size=60),
)
HOSTILE_BODIES = st.one_of(
    st.sampled_from([
        b"", b"\x00" * 64, b"Hej\x00d\xe5!", b"Hej=00d=E5!", b"SGVqAGTDpQ==", b"\r" * 500,
        b"\n" * 500, b"=\r\n" * 500, b"=XX=YY=Z",
        b"!!!! not base64 !!!!", b"--x\r\n" * 300, b"--x--\r\n", b"\xff" * 300,
        b"x" * 200_000, "Hej \u202eevil\u202c {{ 7*7 }} <script>".encode(),
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n" * 150,
        b"begin 644 x.txt\r\n!!!\r\nend\r\n", b"From nobody\r\n>From here\r\n",
    ]),
    st.binary(max_size=300),
    TEXTS.map(lambda t: t.encode("utf-8")),
)


def split_mail(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """(header lines with their folds, the line ending, the body)."""
    eol = b"\r\n" if b"\r\n" in raw[:200] else b"\n"
    head, sep, body = raw.partition(eol + eol)
    lines: list[bytes] = []
    for line in head.split(eol) if head else []:
        if lines and line[:1] in (b" ", b"\t"):
            lines[-1] += eol + line
        else:
            lines.append(line)
    return lines, eol, body if sep else b""


def _named(line: bytes, name: bytes) -> bool:
    return line.split(b":", 1)[0].strip().lower() == name.lower()


@st.composite
def mutated_mail(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """One to three mutations of a real mail: a header set to a hostile value, dropped
    or given twice, the body replaced, or bytes spliced in, cut out or cut off."""
    raw = draw(st.sampled_from(originals))
    for _ in range(draw(st.integers(1, 3))):
        lines, eol, body = split_mail(raw)
        how = draw(st.sampled_from(["set", "drop", "twice", "body", "splice", "cut"]))
        name = draw(st.sampled_from(MAIL_HEADERS))
        if how == "set":
            lines = [ln for ln in lines if not _named(ln, name)] + [
                name + b": " + draw(HOSTILE_HEADER_VALUES)]
        elif how == "drop":
            lines = [ln for ln in lines if not _named(ln, name)]
        elif how == "twice":
            lines.append(name + b": " + draw(HOSTILE_HEADER_VALUES))
        elif how == "body":
            body = draw(HOSTILE_BODIES)
        raw = eol.join(lines) + eol + eol + body
        if how in ("splice", "cut"):
            at = draw(st.integers(0, len(raw)))
            if how == "cut":
                raw = raw[:at]
            else:
                gone = draw(st.integers(0, 40))
                raw = raw[:at] + draw(st.binary(max_size=20)) + raw[at + gone:]
    return raw


def load_mails(*directories: Path) -> list[bytes]:
    """The .eml files, each with its Message-ID set to MESSAGE_ID."""
    mails = []
    for directory in directories:
        for path in sorted(directory.glob("*.eml")):
            lines, eol, body = split_mail(path.read_bytes())
            lines = [ln for ln in lines if not _named(ln, b"Message-ID")]
            mails.append(eol.join([*lines, b"Message-ID: " + MESSAGE_ID]) + eol + eol + body)
    return mails


def load(directory: Any, *names: str) -> list[dict[str, Any]]:
    files = [directory / f"{n}.json" for n in names] if names else sorted(directory.glob("*.json"))
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


async def assert_nothing_failed(service: Any) -> None:
    await service.backlog.drained()
    failures = await service.store.read(lambda tx: tx.inbox_failures(10))
    assert service.backlog.failed == 0 and failures == [], failures


def errors_logged(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.levelno >= logging.ERROR
            and r.name.startswith(("router", "channels"))]


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both else value
    return out


def shipped_config(directory: Path, extra: str = "") -> Config:
    """The shipped config.yaml and config.d/ (rules, canned replies, FAQ, bots) on the
    test base (SQLite in `directory`, a free port), deep-merged with `extra`: fuzzed
    input then meets the rules and bots a fresh install runs, not a stand-in."""
    shutil.copytree(ROOT / "config.d", directory / "config.d")
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for key in ("http", "storage", "logging", "outbox"):
        shipped.pop(key, None)
    shipped["service"].pop("data_dir", None)
    merged = merge(shipped, yaml.safe_load(textwrap.dedent(extra)) or {})
    return load_config(write_config(directory, yaml.safe_dump(merged, allow_unicode=True)))
