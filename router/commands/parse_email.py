"""`inquiry-router parse-email FILE [--json]`: what the service would take from a raw mail.

Shows the visible reply text (quotes and signature stripped), its language, the thread key
candidates (and whether its reply tokens are signed by this installation), the address a
reply goes to, attachments, and whether the mail counts as automatic (and why). Useful
when an admin asks "why did this reply open a new ticket?" or "why was this not answered?".
Reply tokens are checked with the installation's key: `EMAIL_SECRET`, or with `--config`
the `email.secret` in its data directory (read, never created).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from channels.email.parse import ParsedEmail, parse_email
from channels.email.threads import TOKEN_PREFIX, ReplyTokens


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("parse-email", help="show what the email channel takes from a raw message")
    parser.add_argument("file", help="raw RFC 5322 message (.eml); '-' reads standard input")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--own", action="append", default=[], metavar="ADDRESS",
        help="one of our addresses (loop guard and reply-token check); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--config", "-c", default="",
        help="config.yaml of the installation: its email addresses and reply-token key",
    )  # fmt: skip
    parser.add_argument(
        "--ignore-reply-to", action="store_true",
        help="answer the From address even when the mail has a Reply-To (use_reply_to: false)",
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


def _tokens(parsed: ParsedEmail) -> list[dict[str, Any]]:
    """The reply tokens among the thread keys: signed by us, or valid for a participant."""
    found = []
    for key in parsed.threading.aliases:
        if key.startswith(TOKEN_PREFIX):
            ident, _, holder = key.removeprefix(f"{TOKEN_PREFIX}c").partition("|")
            found.append({"conversation": int(ident), "signed": not holder,
                          "only_from_participant": holder or None})
    return found


def summary(parsed: ParsedEmail, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> dict[str, Any]:
    text = parsed.visible_text
    language, detector = detect_language(text, languages) if text.strip() else ("", "none")
    return {
        "message_id": parsed.message_id,
        "synthetic_message_id": parsed.synthetic_id,
        "from": parsed.sender,
        "from_name": parsed.sender_name,
        "reply_to": parsed.reply_to,
        "replies_go_to": parsed.contact,
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "visible_text": parsed.visible_text,
        "language": language,
        "language_detector": detector,
        "thread_key": parsed.threading.thread_key,
        "thread_aliases": list(parsed.threading.aliases),
        "reply_tokens": _tokens(parsed),
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
    if info["reply_to"]:
        used = "replies go there" if info["replies_go_to"] == info["reply_to"] else "not used"
        print(f"Reply-To:    {info['reply_to']} ({used})")
    print(f"Subject:     {info['subject']}")
    print(f"Language:    {info['language'] or '?'} ({info['language_detector']})")
    reasons = ", ".join(info["automatic_reasons"])
    print(f"Automatic:   {'yes: ' + reasons if info['automatic'] else 'no'}")
    print(
        f"Thread key:  {info['thread_key']}" + ("  (forward: new conversation)" if info["forwarded"] else "")
    )
    for alias in info["thread_aliases"]:
        print(f"  alias:     {alias}")
    for token in info["reply_tokens"]:
        proof = ("signed by this installation" if token["signed"] else
                 f"not signed by this installation: counts only if {token['only_from_participant']}"
                 " was mailed in it")
        print(f"Token:       conversation {token['conversation']}, {proof}")
    print(f"Attachments: {len(info['attachments'])}" + (f" (+{info['attachments_omitted']} omitted)"
                                                        if info["attachments_omitted"] else ""))  # fmt: skip
    for att in info["attachments"]:
        print(f"  - {att['name'] or '(unnamed)'} {att['mime']} {att['size']} bytes")
    if info["defects"]:
        print(f"Defects:     {', '.join(info['defects'][:10])}")
    print("--- visible text ---")
    print(info["visible_text"])


def run(args: argparse.Namespace) -> int:
    own = [a.lower() for a in args.own]
    secret = os.environ.get("EMAIL_SECRET", "") or None
    if args.config:
        from router.commands._common import load_or_report
        from router.configuration.local_secret import peek_secret

        config = load_or_report(args.config, with_rules=False)
        if config is None:
            return 1
        email = config.channels.get("email")
        if email is not None:
            own.extend(email.all_own_addresses())
        if secret is None and (config.data_path() / "email.secret").exists():
            secret = peek_secret(config.data_path(), "email")()
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    parsed = parse_email(raw, own_addresses=own, tokens=ReplyTokens(secret),
                         use_reply_to=not args.ignore_reply_to)
    languages = tuple(code.strip() for code in args.languages.split(",") if code.strip())
    info = summary(parsed, languages)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        _print_text(info)
    return 0
