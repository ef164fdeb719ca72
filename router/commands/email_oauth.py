"""`inquiry-router email-oauth login|status|forget`: the email channel's OAuth2 accounts.

`login NAME` is the one-time consent of a refresh-token account: for Microsoft, the device
code sign-in (msal) prints a code to enter at microsoft.com/devicelogin as the mailbox's
user or an admin; with `--refresh-token-stdin` a refresh token obtained elsewhere (Google's
consent screen) is read from standard input instead. Either way a token is fetched to
prove it works and the refresh token is kept encrypted in the data directory
(`channels.email.tokens`), where a running service picks it up at its next attempt. For
client-credentials and service-account accounts `login` only checks that a token comes.
`status [--check]` lists the accounts, `forget NAME` deletes a kept refresh token.
Tokens are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime
from typing import Any

from router.commands._common import add_config_arg, load_or_report
from router.configuration.local_secret import lazy_secret


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("email-oauth", help="sign in the email channel's OAuth2 accounts "
                                                "(Microsoft 365, Google), show or forget them")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    login = actions.add_parser("login", help="one-time consent: keep a refresh token (device "
                                             "code sign-in for Microsoft)")
    login.add_argument("account", help="the name under channels.email.oauth2")
    login.add_argument("--refresh-token-stdin", action="store_true",
                       help="read a refresh token from standard input instead of signing in")
    status = actions.add_parser("status", help="the accounts, their kept tokens, their state")
    status.add_argument("--check", action="store_true", help="fetch a token for each account")
    forget = actions.add_parser("forget", help="delete an account's kept refresh token")
    forget.add_argument("account")
    for each in (login, status, forget):
        add_config_arg(each)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1
    from channels.email.tokens import SECRET_NAME, EncryptedTokenStore

    email = config.channels.get("email")
    accounts = dict(email.oauth2) if email is not None else {}
    data_dir = config.data_path()
    store = EncryptedTokenStore(data_dir / "email" / "oauth", lazy_secret(data_dir, SECRET_NAME))
    if args.action == "status":
        return _status(accounts, store, email, check=args.check)
    if args.account not in accounts:
        known = ", ".join(sorted(accounts)) or "none"
        print(f"error: no account {args.account!r} under channels.email.oauth2 (defined: {known})",
              file=sys.stderr)
        return 1
    if args.action == "forget":
        print(f"{args.account}: " + ("kept refresh token deleted" if store.forget(args.account)
                                     else "no kept refresh token"))
        return 0
    return _login(args.account, accounts[args.account], store, email,
                  from_stdin=args.refresh_token_stdin)


def _user(email: Any, account: str) -> str:
    """The mailbox an account is used for (a Google service account acts as it)."""
    blocks = [box.imap for box in email.mailboxes] + ([email.smtp_out] if email.smtp_out else [])
    return next((b.username for b in blocks if b.oauth2 == account), "")


def _check(account: str, settings: Any, store: Any, email: Any) -> str:
    from channels.email.oauth import TokenSource
    from channels.email.oauth_providers import make_provider

    source = TokenSource(account=account, settings=settings, store=store,
                         provider=make_provider(account, settings, _user(email, account)))
    asyncio.run(source.get())
    return f"token fetched, valid {source.expires_at - time.time():.0f}s"


def _login(account: str, settings: Any, store: Any, email: Any, *, from_stdin: bool) -> int:
    from channels.email.oauth import OAuthError, store_refresh_token
    from channels.email.oauth_providers import MicrosoftProvider, make_provider
    from channels.email.tokens import TokenStoreError

    try:
        if settings.flow != "refresh_token":
            print(f"{account}: {settings.provider} {settings.flow} needs no sign-in; "
                  f"{_check(account, settings, store, email)}")
            return 0
        if from_stdin:
            refresh_token = sys.stdin.readline().strip()
            if not refresh_token:
                print("error: no refresh token on standard input", file=sys.stderr)
                return 1
            _token, _lifetime, rotated = make_provider(account, settings).fetch(refresh_token)
            store_refresh_token(store, account, settings, rotated or refresh_token)
        elif settings.provider == "microsoft" and not settings.client_secret:
            refresh_token = _device_code(MicrosoftProvider(account, settings))
            if refresh_token is None:
                return 1
            store_refresh_token(store, account, settings, refresh_token)
        else:
            print(f"error: {account}: sign in with your OAuth client's consent screen and give "
                  f"the refresh token with --refresh-token-stdin", file=sys.stderr)
            return 1
    except (OAuthError, TokenStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # msal/requests: the identity provider unreachable, say which
        print(f"error: {account}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{account}: signed in; refresh token kept encrypted in {store.path(account)}")
    return 0


def _device_code(provider: Any) -> str | None:
    """msal's device code flow: print where to sign in, wait for it, return the refresh token."""
    app = provider.application()
    flow = app.initiate_device_flow(scopes=provider.settings.scope_list())
    if "user_code" not in flow:
        print(f"error: {provider.account}: no device code ({flow.get('error', '')}: "
              f"{flow.get('error_description', '')})", file=sys.stderr)
        return None
    print(flow["message"], flush=True)  # where to go and the code to enter (not a secret)
    result = app.acquire_token_by_device_flow(flow)
    if "refresh_token" not in result:
        print(f"error: {provider.account}: sign-in failed ({result.get('error', 'no refresh token')}:"
              f" {result.get('error_description', '')})", file=sys.stderr)
        return None
    return str(result["refresh_token"])


def _status(accounts: dict[str, Any], store: Any, email: Any, *, check: bool) -> int:
    from channels.email.oauth import OAuthError
    from channels.email.tokens import TokenStoreError

    if not accounts:
        print("no OAuth2 accounts (channels.email.oauth2)")
        return 0
    failed = 0
    for name, settings in sorted(accounts.items()):
        line = f"{name}: {settings.provider} {settings.flow}"
        if settings.flow == "refresh_token":
            try:
                kept = store.load(name)
                line += (f", refresh token kept {_when(kept.get('saved_at'))}" if kept
                         else ", no kept refresh token")
            except TokenStoreError as exc:
                line += f", kept token unreadable ({exc})"
            if settings.refresh_token:
                line += ", one configured"
        if check:
            try:
                line += f"; {_check(name, settings, store, email)}"
            except (OAuthError, TokenStoreError) as exc:
                failed += 1
                line += f"; FAILED: {exc}"
        print(line)
    return 1 if failed else 0


def _when(saved_at: Any) -> str:
    try:
        return datetime.fromisoformat(str(saved_at)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return "(date unknown)"
