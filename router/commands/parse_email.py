"""`inquiry-router parse-email FILE [--json]`: what the service would take from a raw mail.

Shows the visible reply text (quotes and signature stripped), its language, the thread key
candidates, attachments, and whether the mail counts as automatic (and why). Useful when
an admin asks "why did this reply open a new ticket?" or "why was this not answered?".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from channels.email.parse import ParsedEmail, parse_email


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("parse-email", help="show what the email channel takes from a raw message")
    parser.add_argument("file", help="raw RFC 5322 message (.eml); '-' reads standard input")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--own", action="append", default=[], metavar="ADDRESS",
        help="one of our addresses (loop guard and reply-token check); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--languages", default=",".join(DEFAULT_LANGUAGES),
        help="languages detection may choose from, as in config.yaml (default: %(default)s)",
    )  # fmt: skip
    parser.set_defaults(func=run)


DEFAULT_LANGUAGES = ("en", "sv", "fi", "nb", "da", "de", "uk")


def detect_language(text: str, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> tuple[str, str]:
    """(language, detector): the rules package's detector (as the service uses it), else py3langid."""
    try:
        from rules.language import Detector

        code, _confidence = Detector(languages, default="").detect(text)
        return str(code or ""), "rules.language"
    except Exception:  # an older tree without rules.language, or an unsupported code
        pass
    try:
        import py3langid

        code, _score = py3langid.classify(text)
        return str(code), "py3langid"
    except Exception:
        return "", "none"


def summary(parsed: ParsedEmail, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> dict[str, Any]:
    text = parsed.visible_text
    language, detector = detect_language(text, languages) if text.strip() else ("", "none")
    return {
        "message_id": parsed.message_id,
        "synthetic_message_id": parsed.synthetic_id,
        "from": parsed.sender,
        "from_name": parsed.sender_name,
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "visible_text": parsed.visible_text,
        "language": language,
        "language_detector": detector,
        "thread_key": parsed.threading.thread_key,
        "thread_aliases": list(parsed.threading.aliases),
        "forwarded": parsed.threading.forwarded,
        "automatic": parsed.is_automatic,
        "automatic_reasons": list(parsed.automatic),
        "attachments": [a.as_dict() for a in parsed.attachments],
        "attachments_omitted": parsed.attachments_omitted,
        "html_only": parsed.html_only,
        "size": parsed.size,
        "defects": list(parsed.defects),
        "quoted_text": parsed.quoted_text,
        "signature": parsed.signature,
    }


def _print_text(info: dict[str, Any]) -> None:
    print(f"Message-ID:  {info['message_id']}" + (" (synthesised)" if info["synthetic_message_id"] else ""))
    print(f"From:        {info['from_name']} <{info['from']}>")
    print(f"Subject:     {info['subject']}")
    print(f"Language:    {info['language'] or '?'} ({info['language_detector']})")
    reasons = ", ".join(info["automatic_reasons"])
    print(f"Automatic:   {'yes: ' + reasons if info['automatic'] else 'no'}")
    print(
        f"Thread key:  {info['thread_key']}" + ("  (forward: new conversation)" if info["forwarded"] else "")
    )
    for alias in info["thread_aliases"]:
        print(f"  alias:     {alias}")
    print(f"Attachments: {len(info['attachments'])}" + (f" (+{info['attachments_omitted']} omitted)"
                                                        if info["attachments_omitted"] else ""))  # fmt: skip
    for att in info["attachments"]:
        print(f"  - {att['name'] or '(unnamed)'} {att['mime']} {att['size']} bytes")
    if info["defects"]:
        print(f"Defects:     {', '.join(info['defects'][:10])}")
    print("--- visible text ---")
    print(info["visible_text"])


def run(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    parsed = parse_email(raw, own_addresses=[a.lower() for a in args.own])
    languages = tuple(code.strip() for code in args.languages.split(",") if code.strip())
    info = summary(parsed, languages)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        _print_text(info)
    return 0
