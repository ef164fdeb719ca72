"""Service configuration: `config.yaml` validated with pydantic, errors located at file:line.

The router validates the keys it owns (service, http, storage, logging, outbox, channels,
queues, agents, teams); the rules and bots packages validate theirs from the same
`Source` when the service is wired together. Unknown keys are errors everywhere, because a
typo that silently does nothing is the worst kind of configuration bug.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from router.configuration import yamlsrc
from router.configuration.durations import Duration
from router.configuration.validation import located_problems
from router.domain.errors import ConfigError, Problem
from router.engine.integrations.crm import settings as crm_settings  # issue 27
from router.engine.integrations.webhooks.settings import Endpoints  # issue 27: outgoing webhooks
from router.web.console.sso_settings import ConsoleSettings

# Top-level keys validated by other packages (rules/, bots/) from the same source.
FOREIGN_KEYS = frozenset(
    {"languages", "default_language", "language_fallbacks", "business_hours", "replies",
     "rules", "faq", "bots"}
)

# Channel settings models live with their channel; imported only when configured.
CHANNEL_SETTINGS = {
    "email": "channels.email.settings:EmailSettings",
    "telegram": "channels.telegram.settings:TelegramSettings",
    "slack": "channels.slack.settings:SlackSettings",
    "webchat": "channels.webchat.settings:WebchatSettings",
    "loopback": "channels.loopback.settings:LoopbackSettings",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSettings(Strict):
    name: str = "Inquiry Router"
    public_url: str = ""
    data_dir: str = "data"
    default_queue: str = "general"
    reopen_window: Duration = timedelta(days=7)
    shutdown_grace: Duration = timedelta(seconds=10)
    #: when webhook channels (loopback, Telegram, Slack) acknowledge a message: once it is
    #: `stored` (processing follows in arrival order, router/engine/backlog.py) or once it is
    #: `processed` (its replies are committed too; slower under a burst)
    acknowledge: Literal["stored", "processed"] = "stored"
    #: accepted messages that may wait for processing in one instance before webhooks wait
    max_backlog: int = Field(20_000, ge=1)
    #: the event loop `serve` runs on: `uvloop` (libuv; about 7 % less CPU per message end
    #: to end, issue 28) or Python's own `asyncio` (if a library misbehaves under uvloop)
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"


class HttpSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    #: seconds a client has to send a request's headers, counted from connecting or from
    #: the end of the previous response (an idle keep-alive connection closes after it too)
    header_timeout: float = Field(15.0, gt=0)
    #: seconds a client has to send a request's body once its headers arrived; a slower
    #: client gets 408 and the connection is closed
    body_timeout: float = Field(30.0, gt=0)


class StorageSettings(Strict):
    url: str = "sqlite:///data/router.db"

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("use sqlite:///path/to/file.db or postgresql://user@host/db")
        return value


class LoggingSettings(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "text"] = "auto"


class OutboxSettings(Strict):
    max_attempts: int = Field(8, ge=1)
    base_delay: Duration = timedelta(seconds=1)
    max_delay: Duration = timedelta(minutes=10)
    lease: Duration = timedelta(seconds=60)
    concurrency: int = Field(64, ge=1)


class MetricsSettings(Strict):
    enabled: bool = True
    #: when set, `/metrics` needs `Authorization: Bearer <token>`
    token: str = ""


# --- privacy (issue 13) ---
class PrivacySettings(Strict):
    #: delete conversations not updated for this many days (and contacts left without
    #: any); None keeps everything. Runs hourly in the service, in batches.
    retention_days: int | None = Field(None, ge=1)
# --- end privacy ---


# --- audit log and two-factor sign-in (issue 29) ---
class AuditSettings(Strict):
    #: audit records older than this many days are deleted (hourly, by the retention
    #: job); None keeps them all
    retention_days: int | None = Field(365, ge=1)


class TwoFactorSettings(Strict):
    #: every agent signing in with a password (or token) must use a TOTP code; agents
    #: without one enrol during sign-in
    required: bool = False
    #: the account's issuer in authenticator apps; default: service.name
    issuer: str = Field("", max_length=100)
# --- end issue 29 ---


class SlaSettings(Strict):
    first_response: Duration | None = None
    resolution: Duration | None = None
    business_hours: bool = True
    # the resolution clock stops while the last word is the agent's (waiting on the customer)
    pause_when_waiting: bool = False


class QueueSettings(Strict):
    description: str = ""
    sla: SlaSettings = SlaSettings()
    auto_assign: bool = False
    # an assigned, unanswered conversation goes back to the queue when its agent has been
    # offline this long (None: never)
    requeue_offline_after: Duration | None = timedelta(minutes=15)


class AgentSettings(Strict):
    name: str = ""
    email: str = ""
    role: Literal["admin", "agent"] = "agent"
    languages: list[str] = []
    capacity: int = Field(5, ge=1)


class TeamSettings(Strict):
    description: str = ""
    members: list[str] = []


class Settings(Strict):
    service: ServiceSettings = ServiceSettings()
    http: HttpSettings = HttpSettings()
    storage: StorageSettings = StorageSettings()
    logging: LoggingSettings = LoggingSettings()
    outbox: OutboxSettings = OutboxSettings()
    metrics: MetricsSettings = MetricsSettings()
    privacy: PrivacySettings = PrivacySettings()  # issue 13
    audit: AuditSettings = AuditSettings()  # issue 29
    two_factor: TwoFactorSettings = TwoFactorSettings()  # issue 29
    console: ConsoleSettings = ConsoleSettings()  # issue 29: console.auth (passwords, sso)
    webhooks: Endpoints = {}  # issue 27: outgoing webhooks, router/engine/integrations
    integrations: crm_settings.IntegrationsSettings = crm_settings.IntegrationsSettings()  # issue 27
    channels: dict[str, Any] = {}
    queues: dict[str, QueueSettings] = {"general": QueueSettings()}
    agents: dict[str, AgentSettings] = {}
    teams: dict[str, TeamSettings] = {}


@dataclass
class Config:
    """Validated settings plus the located source they came from."""

    settings: Settings
    source: yamlsrc.Source
    path: str
    channels: dict[str, Any] = field(default_factory=dict)  # name -> channel settings model

    @property
    def queue_names(self) -> set[str]:
        return set(self.settings.queues)

    @property
    def agent_names(self) -> set[str]:
        return set(self.settings.agents)

    @property
    def team_names(self) -> set[str]:
        return set(self.settings.teams)

    def data_path(self, *parts: str) -> Path:
        base = Path(self.settings.service.data_dir)
        if not base.is_absolute():
            base = Path(self.path).resolve().parent / base
        return base.joinpath(*parts)

    def sqlite_path(self) -> Path:
        raw = self.settings.storage.url.removeprefix("sqlite:///")
        p = Path(raw)
        return p if p.is_absolute() else Path(self.path).resolve().parent / p

    def secrets(self) -> list[str]:
        """Every configured value that must never be logged (tokens, passwords, secrets)."""
        found: list[str] = []
        _collect_secrets(self.source.data, found)
        return found


_SECRET_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey")


def _collect_secrets(node: Any, out: list[str], key: str = "") -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _collect_secrets(v, out, str(k).lower())
    elif isinstance(node, list):
        for v in node:
            _collect_secrets(v, out, key)
    elif isinstance(node, str) and len(node) >= 6 and any(w in key for w in _SECRET_WORDS):
        out.append(node)


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    """Load and validate `path`. Raises ConfigError listing every problem found."""
    source = yamlsrc.load(path, env)
    own = {k: v for k, v in source.data.items() if k not in FOREIGN_KEYS}
    problems: list[Problem] = []
    try:
        settings = Settings.model_validate(own)
    except ValidationError as exc:
        problems.extend(located_problems(source, exc, (), Settings))
        settings = None
    config = Config(settings=settings or Settings(), source=source, path=str(path))
    if settings is not None:
        problems.extend(_validate_channels(config))
        problems.extend(_validate_references(config))
        problems.extend(crm_settings.problems(source, settings.integrations.crm))  # issue 27
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.file, p.line, p.column)))
    return config


def _validate_channels(config: Config) -> list[Problem]:
    problems = []
    for name, raw in config.settings.channels.items():
        target = CHANNEL_SETTINGS.get(name)
        if target is None:
            close = difflib.get_close_matches(name, list(CHANNEL_SETTINGS), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(CHANNEL_SETTINGS)}"
            problems.append(config.source.problem(("channels", name), f"unknown channel '{name}'", hint))
            continue
        if raw is None:  # `telegram:` with nothing under it: the channel is simply off
            continue
        module_name, _, cls_name = target.partition(":")
        try:
            model = getattr(importlib.import_module(module_name), cls_name)
        except (ImportError, AttributeError):
            problems.append(config.source.problem(
                ("channels", name), f"channel '{name}' is not available in this build"))
            continue
        try:
            config.channels[name] = model.model_validate(raw)
        except ValidationError as exc:
            problems.extend(located_problems(config.source, exc, ("channels", name), model))
    return problems


def _validate_references(config: Config) -> list[Problem]:
    s = config.settings
    problems = []
    if s.service.default_queue not in s.queues:
        problems.append(config.source.problem(
            ("service", "default_queue"), f"default_queue '{s.service.default_queue}' is not a "
            f"queue", f"define it under queues: or pick one of {', '.join(sorted(s.queues))}"))
    for team, team_settings in s.teams.items():
        for i, member in enumerate(team_settings.members):
            if member not in s.agents:
                problems.append(config.source.problem(
                    ("teams", team, "members", i), f"team '{team}': unknown agent '{member}'",
                    "define the agent under agents:"))
    return problems
