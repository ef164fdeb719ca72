"""OAuth2 refresh tokens kept encrypted in the data directory (Fernet, from `cryptography`).

One file per account, `<data_dir>/email/oauth/<account>.token` (directory 0700, file 0600,
replaced atomically), holding a Fernet token (AES-128-CBC plus HMAC-SHA256, with a
timestamp) of a small JSON document. The Fernet key is derived with HKDF-SHA256 from the
installation's secret: `EMAIL_OAUTH_SECRET` from the environment (16+ characters), else
`<data_dir>/email_oauth.secret`, made once (router.configuration.local_secret). With the variable set,
a copy of the data directory alone (a backup) does not give the tokens away.

Nothing here logs a token or a key; errors name the file and what to do, never its contents.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

SECRET_NAME = "email_oauth"  # EMAIL_OAUTH_SECRET / <data_dir>/email_oauth.secret
_INFO = b"inquiry-router email oauth2 token store v1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TokenStoreError(Exception):
    """A kept token could not be read (wrong key, damaged file) or written."""


def fernet_for(secret: str) -> Fernet:
    """The Fernet whose key HKDF derives from `secret` (any length, 16+ characters)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class EncryptedTokenStore:
    """Reads and writes one encrypted JSON document per account name."""

    def __init__(self, directory: Path, secret: Callable[[], str]) -> None:
        self.directory = Path(directory)
        self._secret = secret

    def path(self, account: str) -> Path:
        if not _NAME.match(account):
            raise TokenStoreError(f"OAuth2 account name {account!r}: use letters, digits, '.', '_', '-'")
        return self.directory / f"{account}.token"

    def load(self, account: str) -> dict[str, Any] | None:
        """The kept document, or None when there is none."""
        path = self.path(account)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(fernet_for(self._secret()).decrypt(blob))
        except InvalidToken:
            raise TokenStoreError(
                f"{path} cannot be decrypted: EMAIL_OAUTH_SECRET (or email_oauth.secret in the "
                f"data directory) is not the key it was written with; restore that key, or sign "
                f"in again with `inquiry-router email-oauth login {account}`") from None
        except ValueError as exc:
            raise TokenStoreError(f"{path} is damaged ({type(exc).__name__}); sign in again with "
                                  f"`inquiry-router email-oauth login {account}`") from None
        if not isinstance(data, dict):
            raise TokenStoreError(f"{path} is damaged; sign in again")
        return data

    def save(self, account: str, data: dict[str, Any]) -> None:
        """Encrypt and replace atomically (a reader sees the old or the new file, whole)."""
        path = self.path(account)
        blob = fernet_for(self._secret()).encrypt(json.dumps(data).encode())
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        log.info("email OAuth2 %s: token kept in %s (encrypted)", account, path)

    def forget(self, account: str) -> bool:
        """Delete the kept document; True if there was one."""
        try:
            self.path(account).unlink()
        except FileNotFoundError:
            return False
        return True
