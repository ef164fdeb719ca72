"""One small error hierarchy. Messages name the key, file:line or rule and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


class RouterError(Exception):
    """Base of every error this project raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem, located in the admin's files."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(RouterError):
    """The configuration is invalid; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class RuleError(ConfigError):
    """A rule, reply or template is invalid."""


class StoreError(RouterError):
    pass


class ConflictError(StoreError):
    """A state change lost a race (e.g. two agents claiming one conversation)."""


class NotFoundError(StoreError):
    pass


class ChannelError(RouterError):
    """A channel could not deliver. `permanent` errors are never retried."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class ChannelRateLimited(ChannelError):
    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason, permanent=False, retry_after=retry_after)


class BodyTimeout(RouterError, TimeoutError):
    """A request's body did not arrive within `http.body_timeout`; answered 408, then closed.

    A TimeoutError, so aiohttp's lingering read after the response stops on it quietly.
    """


class PayloadRejected(RouterError):
    """Inbound input that cannot be accepted (too large, malformed, forged)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ServiceStopping(RouterError):
    """Intake is closed for shutdown; the platform should retry later (HTTP 503)."""
