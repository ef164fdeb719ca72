"""What the store tests that run the pipeline share: a decision that answers every
message, and the outbox dispatcher's send slots, always free."""

from __future__ import annotations

from router.domain.model import Action, Decision, OutboxRow, ReplyContent


def answering(ctx: object) -> Decision:
    return Decision(actions=[Action("reply", ReplyContent("Vi har öppet 9-17."), source="faq")],
                    language="sv")


class FreeSlots:
    """The dispatcher's slots, always free: a processing unit leases its own reply; what
    was handed over is kept."""

    lease = 60.0

    def __init__(self) -> None:
        self.handed: list[OutboxRow] = []

    def reserve(self) -> bool:
        return True

    def hand(self, rows: list[OutboxRow], reserved: bool) -> None:
        self.handed += rows
