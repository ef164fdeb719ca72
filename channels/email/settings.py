"""Email channel settings, validated once at start-up (pydantic, unknown keys rejected).

The config loader substitutes `${ENV}` before validation, so passwords arrive as plain
strings here and never live in the YAML file itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from channels.email.oauth_settings import OAuth2Settings

TlsMode = Literal["none", "starttls", "tls"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImapSettings(_Strict):
    """One IMAP account to import from."""

    host: str
    port: int = 993
    tls: TlsMode = "tls"
    username: str
    password: str = Field(default="", repr=False)
    folder: str = "INBOX"
    # when set, imported mail is moved here instead of only being flagged \Seen
    processed_folder: str | None = None
    # seconds between polls when the server has no IDLE (and the IDLE re-arm interval)
    poll_interval: float = Field(default=60.0, gt=0)
    # re-issue IDLE at least this often; RFC 2177 servers drop IDLE after 30 min
    idle_timeout: float = Field(default=25 * 60.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    # TLS (tls/starttls): check the server's certificate against the system roots plus
    # `ca_file` (PEM); `verify: false` accepts any certificate (lab servers only)
    verify: bool = True
    ca_file: str = ""
    # the name of a `channels.email.oauth2` account: SASL XOAUTH2 instead of the password
    oauth2: str = ""


class MailboxSettings(_Strict):
    name: str
    imap: ImapSettings
    # answer the Reply-To address when a mail has one (a web form's From: forms@site with
    # Reply-To: the customer); off: always the From address
    use_reply_to: bool = True


class SmtpInSettings(_Strict):
    """An SMTP listener for running behind an MTA; accepts mail only for `addresses`."""

    host: str = "127.0.0.1"
    port: int = 2525
    addresses: list[str]
    max_bytes: int = Field(default=30 * 1024 * 1024, gt=0)
    use_reply_to: bool = True  # as for a mailbox

    @field_validator("addresses")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("smtp_in.addresses must list at least one address we accept")
        return [a.strip().lower() for a in value]


class SmtpOutSettings(_Strict):
    host: str
    port: int = 587
    tls: TlsMode = "starttls"
    username: str = ""
    password: str = Field(default="", repr=False)
    from_address: str
    from_name: str = ""
    timeout: float = Field(default=30.0, gt=0)
    verify: bool = True  # as for IMAP
    ca_file: str = ""
    oauth2: str = ""  # as for IMAP (XOAUTH2; `username` is the mailbox)


class EmailSettings(_Strict):
    """`channels.email` in config.yaml."""

    mailboxes: list[MailboxSettings] = Field(default_factory=list)
    smtp_in: SmtpInSettings | None = None
    smtp_out: SmtpOutSettings | None = None
    # addresses that are us: mail from them is never answered (loop guard)
    own_addresses: list[str] = Field(default_factory=list)
    max_auto_replies_per_sender_per_day: int = Field(default=5, ge=0)
    # larger messages are imported with headers only (the original stays on the server)
    max_message_bytes: int = Field(default=40 * 1024 * 1024, gt=0)
    max_attachments: int = Field(default=100, ge=0)
    # keep a copy of every raw message under <state_dir>/raw (agents may need the original)
    keep_raw: bool = True
    # OAuth2 accounts (Microsoft 365, Google) that `imap.oauth2` / `smtp_out.oauth2` name
    oauth2: dict[str, OAuth2Settings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _oauth2_names(self) -> EmailSettings:
        users = [(f"mailboxes[{i}].imap", box.imap) for i, box in enumerate(self.mailboxes)]
        if self.smtp_out is not None:
            users.append(("smtp_out", self.smtp_out))
        for where, block in users:
            if not block.oauth2:
                continue
            if block.oauth2 not in self.oauth2:
                known = ", ".join(sorted(self.oauth2)) or "none is defined"
                raise ValueError(f"{where}.oauth2: no account {block.oauth2!r} under "
                                 f"channels.email.oauth2 ({known})")
            if block.password:
                raise ValueError(f"{where}: give either password or oauth2, not both")
            if not block.username:
                raise ValueError(f"{where}.username: XOAUTH2 needs the mailbox address")
        return self

    @field_validator("own_addresses")
    @classmethod
    def _lower_own(cls, value: list[str]) -> list[str]:
        return [a.strip().lower() for a in value]

    def all_own_addresses(self) -> frozenset[str]:
        """Our addresses: configured ones, the sender address and the SMTP-in addresses."""
        own = set(self.own_addresses)
        if self.smtp_out is not None:
            own.add(self.smtp_out.from_address.lower())
        if self.smtp_in is not None:
            own.update(self.smtp_in.addresses)
        for box in self.mailboxes:
            if "@" in box.imap.username:
                own.add(box.imap.username.lower())
        return frozenset(own)
