"""What the agent desk needs from the config: queues, their SLA, business hours, agents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router.config import Config, QueueSettings, SlaSettings
from router.domain.errors import ConfigError
from router.domain.model import Agent, Role
from router.engine.agents.sla import ALWAYS_OPEN, BusinessCalendar, parse_business_hours


@dataclass(frozen=True)
class DeskPolicy:
    queues: Mapping[str, QueueSettings] = field(default_factory=lambda: {"general": QueueSettings()})
    default_queue: str = "general"
    calendar: BusinessCalendar = ALWAYS_OPEN
    teams: Mapping[str, frozenset[str]] = field(default_factory=dict)  # team -> agent names
    default_language: str = "en"  # what the desk tells a customer whose language is unknown

    def queue(self, name: str) -> QueueSettings:
        """Settings of `name`; a queue that is not configured (a rule typo) has no SLA."""
        return self.queues.get(name) or QueueSettings()

    def sla(self, name: str) -> SlaSettings:
        return self.queue(name).sla

    @property
    def auto_queues(self) -> tuple[str, ...]:
        return tuple(sorted(q for q, s in self.queues.items() if s.auto_assign))


def build_policy(config: Config) -> DeskPolicy:
    """Raises ConfigError located at `business_hours` if that block is invalid."""
    raw = config.source.data.get("business_hours")
    try:
        calendar = parse_business_hours(raw if isinstance(raw, dict) else None)
    except ValueError as exc:
        raise ConfigError([config.source.problem(("business_hours",), str(exc))]) from None
    s = config.settings
    return DeskPolicy(queues=dict(s.queues), default_queue=s.service.default_queue,
                      calendar=calendar,
                      teams={t: frozenset(ts.members) for t, ts in s.teams.items()},
                      default_language=_default_language(config.source.data))


def _default_language(data: Mapping[str, object]) -> str:
    """The top-level `default_language`, else the first of `languages` (as the rules
    read them; they validate both), else English."""
    default, languages = data.get("default_language"), data.get("languages")
    if isinstance(default, str) and default:
        return default
    if isinstance(languages, list) and languages and isinstance(languages[0], str):
        return languages[0]
    return "en"


def config_agents(config: Config) -> list[Agent]:
    """Agents declared in config.yaml, as rows to upsert by name at start-up."""
    return [Agent(0, name, display_name=a.name or name, email=a.email, role=Role(a.role),
                  languages=list(a.languages), capacity=a.capacity, source="config")
            for name, a in config.settings.agents.items()]
