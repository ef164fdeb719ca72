"""SASL XOAUTH2 on IMAP (aioimaplib) and SMTP (aiosmtplib), with one retry on a fresh token.

A server that refuses a token gets one more try with a newly fetched one (the old one may
have been revoked or expired early); a second refusal is `TokenRejected`.

aioimaplib's own `xoauth2()` is not used: on a refused token the server sends a base64
JSON challenge (`+ eyJzdGF0dXMiOi...`) that the client must answer with an empty line
before the tagged NO comes, and aioimaplib never answers it, so the command hangs until
its timeout. It also logs the command with its arguments at DEBUG, the SASL string (the
token, base64-encoded) included. `_SaslCommand` sends `AUTHENTICATE XOAUTH2` alone, writes
the SASL string straight to the transport when the server asks for it (`+ `), and answers
an error challenge with an empty line: no log line ever holds the token.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable

import aioimaplib

from channels.email.oauth import OAuthError, TokenSource


def sasl_string(user: str, token: str) -> str:
    """The XOAUTH2 initial client response, base64 (Google's and Microsoft's format)."""
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode("ascii")


class _SaslCommand(aioimaplib.Command):
    """AUTHENTICATE <mechanism>: the response goes out on the first continuation, an empty
    line on the next (the server's error challenge), then the tagged OK or NO ends it."""

    def __init__(self, protocol: aioimaplib.IMAP4ClientProtocol, mechanism: str,
                 response: str) -> None:
        super().__init__("AUTHENTICATE", protocol.new_tag(), mechanism, loop=protocol.loop)
        self._protocol = protocol
        self._response: str | None = response

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if result == "Pending" and bytes(line).startswith(b"+"):
            answer, self._response = self._response or "", None
            transport = self._protocol.transport
            if transport is not None:
                transport.write(answer.encode("ascii") + b"\r\n")


async def _imap_attempt(client: aioimaplib.IMAP4, user: str, token: str) -> aioimaplib.Response:
    protocol = client.protocol
    secret = sasl_string(user, token)
    async with protocol.state_condition:
        response = await protocol.execute(_SaslCommand(protocol, "XOAUTH2", secret))
        if response.result == "OK":
            protocol.state = aioimaplib.AUTH
        protocol.state_condition.notify_all()
    return response


async def imap_login(client: aioimaplib.IMAP4, user: str, source: TokenSource) -> None:
    """AUTHENTICATE XOAUTH2; raises OAuthError (ConsentRevoked, TokenRejected)."""
    if not client.has_capability("AUTH=XOAUTH2"):
        raise OAuthError(f"email OAuth2 {source.account}: the IMAP server does not offer "
                         f"AUTH=XOAUTH2 (is this the provider's IMAP host?)")
    token = await source.get()
    response = await asyncio.wait_for(_imap_attempt(client, user, token), client.timeout)
    if response.result != "OK":
        source.invalidate(token)
        token = await source.get()
        response = await asyncio.wait_for(_imap_attempt(client, user, token), client.timeout)
    if response.result != "OK":
        text = b" ".join(bytes(x) for x in response.lines[-1:] if not bytes(x).startswith(b"+"))
        raise source.rejected(f"the IMAP server ({text.decode(errors='replace')})")
    source.accepted()
    lines = [bytes(x) for x in response.lines]
    advertised = [line for line in lines if b"CAPABILITY" in line]
    if advertised:  # as aioimaplib's login() does: the capabilities after authentication
        caps = advertised[0].decode().replace("[", " ").replace("]", " ").split()
        protocol = client.protocol
        protocol.capabilities = protocol.capabilities.union(c for c in caps if c != "CAPABILITY")
    else:
        await client.protocol.capability()


async def smtp_send(send: Callable[[str], Awaitable[None]], source: TokenSource) -> None:
    """`send(token)` (one aiosmtplib.send with oauth_token_generator), retried once with a
    fresh token when the server refuses it."""
    import aiosmtplib

    token = await source.get()
    try:
        await send(token)
    except aiosmtplib.SMTPAuthenticationError:
        source.invalidate(token)
        token = await source.get()
        try:
            await send(token)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise source.rejected(f"the SMTP server ({exc.code} {exc.message})") from None
    source.accepted()
