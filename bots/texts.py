# ruff: noqa: E501 - sentences of customer-facing text read better unbroken
"""Built-in canned replies of the bots, in the five languages, and their tiny templating.

Admins override any of them under `bots.replies` (or define the same id in the rules'
`replies:`); these defaults mean a fresh install never sends an empty or English-only
message to a Finnish customer. Placeholders are `{name}` and are filled by plain
substitution, never by `str.format`, so an admin's text cannot reach Python attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

_PLACEHOLDER: Final = re.compile(r"\{([a-z_]+)\}")

BUILTIN: Final[Mapping[str, Mapping[str, str]]] = {
    "fallback": {
        "sv": "Förlåt, det förstod jag inte. Kan du formulera om frågan? Skriv ”människa” om du vill prata med oss direkt.",
        "fi": "Anteeksi, en ymmärtänyt. Voisitko muotoilla kysymyksen toisin? Kirjoita ”ihminen”, jos haluat puhua asiakaspalvelijan kanssa.",
        "nb": "Beklager, det forsto jeg ikke. Kan du formulere spørsmålet på en annen måte? Skriv «menneske» hvis du vil snakke med oss direkte.",
        "uk": "Вибачте, я не зрозумів. Чи можете сформулювати питання інакше? Напишіть «оператор», якщо хочете поговорити з людиною.",
        "en": "Sorry, I did not understand that. Could you rephrase your question? Write “human” to talk to a person.",
    },
    "fallback_again": {
        "sv": "Tyvärr förstår jag fortfarande inte. Försök med andra ord, eller skriv ”människa” så tar en av oss över.",
        "fi": "Valitettavasti en vieläkään ymmärrä. Kokeile toisin sanoin tai kirjoita ”ihminen”, niin asiakaspalvelija jatkaa.",
        "nb": "Beklager, jeg forstår det fortsatt ikke. Prøv med andre ord, eller skriv «menneske» så tar en av oss over.",
        "uk": "На жаль, я досі не розумію. Спробуйте іншими словами або напишіть «оператор», і далі допоможе людина.",
        "en": "Sorry, I still do not understand. Try other words, or write “human” and one of our team will take over.",
    },
    "handoff": {
        "sv": "Jag kopplar dig vidare till en av oss. Vi svarar här så snart vi kan.",
        "fi": "Siirrän sinut asiakaspalvelijalle. Vastaamme tähän niin pian kuin voimme.",
        "nb": "Jeg setter deg over til en av oss. Vi svarer her så snart vi kan.",
        "uk": "Я передаю вашу розмову нашому співробітнику. Ми відповімо тут якнайшвидше.",
        "en": "I am passing you on to one of our team. We will answer here as soon as we can.",
    },
    "handoff_wait": {
        "sv": "Jag kopplar dig vidare till en av oss. Förväntad väntetid: cirka {wait}.",
        "fi": "Siirrän sinut asiakaspalvelijalle. Arvioitu odotusaika: noin {wait}.",
        "nb": "Jeg setter deg over til en av oss. Forventet ventetid: omtrent {wait}.",
        "uk": "Я передаю вашу розмову нашому співробітнику. Орієнтовний час очікування: близько {wait}.",
        "en": "I am passing you on to one of our team. Expected wait: about {wait}.",
    },
    "handoff_closed": {
        "sv": "En av oss tar över. Vi har stängt just nu, öppnar {next_opening} och svarar inom cirka {wait} efter att vi öppnat.",
        "fi": "Asiakaspalvelijamme jatkaa tästä. Olemme nyt suljettu; avaamme {next_opening} ja vastaamme noin {wait} kuluessa avaamisesta.",
        "nb": "En av oss tar over. Vi har stengt nå, åpner {next_opening} og svarer innen omtrent {wait} etter at vi har åpnet.",
        "uk": "Далі вам відповість наш співробітник. Зараз ми не працюємо; відкриємося {next_opening} і відповімо протягом приблизно {wait} після відкриття.",
        "en": "One of our team will take over. We are closed right now; we open {next_opening} and answer within about {wait} of opening.",
    },
    "handoff_closed_plain": {
        "sv": "En av oss tar över. Vi har stängt just nu, öppnar {next_opening} och svarar dig då.",
        "fi": "Asiakaspalvelijamme jatkaa tästä. Olemme nyt suljettu; avaamme {next_opening} ja vastaamme sinulle silloin.",
        "nb": "En av oss tar over. Vi har stengt nå, åpner {next_opening} og svarer deg da.",
        "uk": "Далі вам відповість наш співробітник. Зараз ми не працюємо; відкриємося {next_opening} і тоді вам відповімо.",
        "en": "One of our team will take over. We are closed right now; we open {next_opening} and will answer you then.",
    },
    "handoff_queued": {
        "sv": "Du står i kö för att prata med en av oss, och vi har noterat att du vill ha en person. Vi svarar här så snart vi kan.",
        "fi": "Olet jonossa asiakaspalvelijalle, ja olemme merkinneet, että haluat puhua ihmisen kanssa. Vastaamme tähän niin pian kuin voimme.",
        "nb": "Du står i kø for å snakke med en av oss, og vi har notert at du vil ha en person. Vi svarer her så snart vi kan.",
        "uk": "Ви в черзі до нашого співробітника, і ми зазначили, що ви хочете поговорити з людиною. Ми відповімо тут якнайшвидше.",
        "en": "You are in the queue for one of our team, and we have noted that you want a person. We will answer here as soon as we can.",
    },
    "handoff_queued_wait": {
        "sv": "Du står i kö för att prata med en av oss, och vi har noterat att du vill ha en person. Förväntad väntetid: cirka {wait}.",
        "fi": "Olet jonossa asiakaspalvelijalle, ja olemme merkinneet, että haluat puhua ihmisen kanssa. Arvioitu odotusaika: noin {wait}.",
        "nb": "Du står i kø for å snakke med en av oss, og vi har notert at du vil ha en person. Forventet ventetid: omtrent {wait}.",
        "uk": "Ви в черзі до нашого співробітника, і ми зазначили, що ви хочете поговорити з людиною. Орієнтовний час очікування: близько {wait}.",
        "en": "You are in the queue for one of our team, and we have noted that you want a person. Expected wait: about {wait}.",
    },
    "handoff_assigned": {
        "sv": "{agent} har fått veta att du vill prata med en person och svarar dig här.",
        "fi": "{agent} on saanut tiedon, että haluat puhua ihmisen kanssa, ja vastaa sinulle tässä.",
        "nb": "{agent} har fått beskjed om at du vil snakke med en person, og svarer deg her.",
        "uk": "{agent} отримав(-ла) повідомлення, що ви хочете поговорити з людиною, і відповість вам тут.",
        "en": "{agent} has been told that you want to talk to a person and will answer you here.",
    },
    "away": {
        "sv": "Tack för ditt meddelande! Kundtjänst är stängd just nu. Vi öppnar igen {next_opening} och svarar dig då.",
        "fi": "Kiitos viestistäsi! Asiakaspalvelu on nyt suljettu. Avaamme taas {next_opening} ja vastaamme sinulle silloin.",
        "nb": "Takk for meldingen! Kundeservice er stengt nå. Vi åpner igjen {next_opening} og svarer deg da.",
        "uk": "Дякуємо за повідомлення! Зараз служба підтримки не працює. Ми відкриємося {next_opening} і тоді вам відповімо.",
        "en": "Thank you for your message! Customer service is closed right now. We open again {next_opening} and will answer you then.",
    },
    "faq_suggest": {
        "sv": "Menar du något av det här?",
        "fi": "Tarkoititko jotakin näistä?",
        "nb": "Mener du noe av dette?",
        "uk": "Можливо, ви мали на увазі одне з цього?",
        "en": "Did you mean one of these?",
    },
    "csat_request": {
        "sv": "Vi har avslutat ärendet. Hur nöjd är du med hjälpen du fick? (1 = inte alls, 5 = mycket)",
        "fi": "Asia on käsitelty. Kuinka tyytyväinen olit saamaasi apuun? (1 = en lainkaan, 5 = erittäin)",
        "nb": "Saken er avsluttet. Hvor fornøyd er du med hjelpen du fikk? (1 = ikke i det hele tatt, 5 = svært)",
        "uk": "Ваше звернення закрито. Наскільки ви задоволені допомогою? (1 — зовсім ні, 5 — дуже)",
        "en": "Your request is closed. How satisfied are you with the help you got? (1 = not at all, 5 = very)",
    },
    "csat_request_email": {
        "sv": "Vi har avslutat ärendet. Hur nöjd är du med hjälpen? Klicka på ett betyg (1 = inte alls, 5 = mycket):\n{links}",
        "fi": "Asia on käsitelty. Kuinka tyytyväinen olit apuun? Valitse arvosana (1 = en lainkaan, 5 = erittäin):\n{links}",
        "nb": "Saken er avsluttet. Hvor fornøyd er du med hjelpen? Klikk på en karakter (1 = ikke i det hele tatt, 5 = svært):\n{links}",
        "uk": "Ваше звернення закрито. Наскільки ви задоволені допомогою? Оберіть оцінку (1 — зовсім ні, 5 — дуже):\n{links}",
        "en": "Your request is closed. How satisfied are you with the help? Click a rating (1 = not at all, 5 = very):\n{links}",
    },
    "csat_thanks": {
        "sv": "Tack för ditt betyg!",
        "fi": "Kiitos arviostasi!",
        "nb": "Takk for vurderingen!",
        "uk": "Дякуємо за вашу оцінку!",
        "en": "Thank you for your rating!",
    },
}


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` placeholders; unknown ones are left as typed (visible in `try`)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def literal_parts(template: str) -> str:
    """The template without its placeholders: what every filled copy has in common."""
    return _PLACEHOLDER.sub(" ", template)
