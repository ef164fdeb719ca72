"""SLA clocks: due times that count business hours, pause while waiting on the customer.

A due time is "start plus N seconds of open time". Business hours are a weekly timetable
in one timezone minus holidays; the arithmetic walks open intervals converted to UTC one
local day at a time, so a DST change shortens or lengthens the *night*, never the count
of working seconds. Calendar SLAs (business_hours: false) use `ALWAYS_OPEN`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

from router.config import SlaSettings
from router.domain.hours import Schedule
from router.domain.hours import parse_business_hours as parse_business_hours  # re-exported
from router.domain.model import Conversation


class BusinessCalendar(Protocol):
    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC, ascending, the first clipped to begin at `start`."""
        ...


ALWAYS_OPEN: BusinessCalendar = Schedule.open_always()


def add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """`start` plus `amount` of open time. Raises ValueError if the calendar never opens."""
    remaining = amount
    # UTC first: adding a timedelta to a zoned time adds wall-clock time, wrong across DST
    for lo, hi in calendar.open_intervals(start.astimezone(UTC)):
        if remaining <= hi - lo:
            return lo + remaining
        remaining -= hi - lo
    raise ValueError("business_hours are never open: an SLA cannot come due")


def business_time_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Open time in [a, b): how long an SLA clock ran (or would have) in that window."""
    total = timedelta()
    if b <= a:
        return total
    for lo, hi in calendar.open_intervals(a.astimezone(UTC)):
        if lo >= b:
            break
        total += min(hi, b) - lo
    return total


# --- clocks on a conversation ----------------------------------------------------------
def _calendar(sla: SlaSettings, calendar: BusinessCalendar) -> BusinessCalendar:
    return calendar if sla.business_hours else ALWAYS_OPEN


def start_clocks(conv: Conversation, sla: SlaSettings, calendar: BusinessCalendar,
                 now: datetime) -> None:
    """Set the due times a queued conversation lacks (first queueing, or a reopen)."""
    cal = _calendar(sla, calendar)
    if conv.first_response_at is None and conv.first_response_due is None and sla.first_response:
        conv.first_response_due = add_business_time(cal, now, sla.first_response)
    if conv.resolution_due is None and sla.resolution:
        conv.resolution_due = add_business_time(cal, now, sla.resolution)
        conv.sla_resolution_breached_at = None  # a new resolution cycle may breach anew
        conv.sla_paused_at = None


def stop_clocks(conv: Conversation) -> None:
    """On resolve: the resolution cycle is over (breach marks stay for reports)."""
    conv.resolution_due = None
    conv.sla_paused_at = None


def pause(conv: Conversation, sla: SlaSettings, now: datetime) -> None:
    """After an agent reply: stop the resolution clock if the queue says so."""
    if sla.pause_when_waiting and conv.resolution_due and not conv.sla_resolution_breached_at:
        conv.sla_paused_at = conv.sla_paused_at or now


def resume(conv: Conversation, sla: SlaSettings, calendar: BusinessCalendar,
           now: datetime) -> None:
    """On a customer message: push the due time back by the open time spent waiting."""
    if conv.sla_paused_at is None:
        return
    if conv.resolution_due is not None:
        waited = business_time_between(_calendar(sla, calendar), conv.sla_paused_at, now)
        conv.resolution_due += waited
    conv.sla_paused_at = None
