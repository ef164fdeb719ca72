"""Why an agent's action was refused; the API maps each to its HTTP status."""

from __future__ import annotations

from router.domain.errors import ConflictError, NotFoundError, RouterError

__all__ = ["ActionRejected", "ConflictError", "Forbidden", "NotFoundError"]


class ActionRejected(RouterError):
    """The request itself is wrong (unknown queue, snooze in the past): HTTP 400."""


class Forbidden(RouterError):
    """The agent may not do this (role, or someone else's conversation): HTTP 403."""
