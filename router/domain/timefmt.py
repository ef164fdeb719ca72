"""Dates and waits written the way each language writes them, without a locale database.

The service runs in containers where system locales are rarely installed, and the five
languages we support are few enough to spell out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Final

WEEKDAYS: Final = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "fi": ("maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina", "lauantaina",
           "sunnuntaina"),
    "nb": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "uk": ("у понеділок", "у вівторок", "у середу", "у четвер", "у п'ятницю", "у суботу",
           "у неділю"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS: Final = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
           "oktober", "november", "december"),
    "nb": ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
           "oktober", "november", "desember"),
    "uk": ("січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня",
           "вересня", "жовтня", "листопада", "грудня"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}
UNITS: Final = {  # minutes, hours, days (abbreviations: no plural rules needed)
    "sv": ("min", "tim", "dagar"),
    "fi": ("min", "t", "pv"),
    "nb": ("min", "t", "dager"),
    "uk": ("хв", "год", "дн."),
    "en": ("min", "h", "days"),
}


def format_opening(when: datetime, language: str, tz: tzinfo) -> str:
    """'måndag 5 januari kl. 08:00' / 'maanantaina 5.1. klo 8.00' / 'Monday 5 January at 08:00'."""
    local = when.astimezone(tz)
    lang = language if language in WEEKDAYS else "en"
    day = WEEKDAYS[lang][local.weekday()]
    hm = f"{local:%H:%M}"
    if lang == "fi":
        return f"{day} {local.day}.{local.month}. klo {local.hour}.{local:%M}"
    if lang == "sv":
        return f"{day} {local.day} {MONTHS['sv'][local.month - 1]} kl. {hm}"
    if lang == "nb":
        return f"{day} {local.day}. {MONTHS['nb'][local.month - 1]} kl. {hm}"
    if lang == "uk":
        return f"{day}, {local.day} {MONTHS['uk'][local.month - 1]} о {hm}"
    return f"{day} {local.day} {MONTHS['en'][local.month - 1]} at {hm}"


def format_wait(wait: timedelta, language: str) -> str:
    """A rough expected wait: '30 min', '4 tim', '2 pv'."""
    minutes, hours, days = UNITS.get(language, UNITS["en"])
    total = max(1, round(wait.total_seconds() / 60))
    if total < 120 and (total < 60 or total % 60):
        return f"{total} {minutes}"  # "45 min", "90 min"; a whole hour reads as "1 h"
    if total < 48 * 60:
        return f"{round(total / 60)} {hours}"
    return f"{round(total / 1440)} {days}"
