"""The words mail clients use around quoted history and signatures, per UI language.

Data only: `channels.email.quotes` compiles the union of all locales (a customer's client
language is unknown, and one mail can mix two). Lower case; matched case-insensitively.
Sources: the attribution and header formats each client writes in that language, as found in
the test fixtures of public reply parsers (talon, email_reply_parser, mail-parser-reply,
quotequail) and in tests/channels/email/quote_corpus/. To support a language, add a row.

Fields:
- verbs: the word(s) ending an attribution line ("On ... <name> wrote:")
- starts: how a wrapped attribution's first line begins (besides a digit or an address)
- from_/date/other: header names in a forwarded/replied header block ("From:", "Sent:", ...)
- separators: "----- <words> -----" lines and "<words>:" forward intros
- footers: how "sent from my phone" / "get the app" lines start (or end, for `footer_ends`)
- valedictions: sign-off lines that start a signature; `thanks`: sign-offs that do so only
  when a name follows ("Thanks,\\nAnna" is a signature, a closing "Thanks!" is text)
"""

from __future__ import annotations

from typing import Final

Row = dict[str, tuple[str, ...]]

# fmt: off
LOCALES: Final[dict[str, Row]] = {
    "en": {
        "verbs": ("wrote",),
        "starts": ("on",),
        "from_": ("from",),
        "date": ("sent", "date"),
        "other": ("to", "cc", "subject", "reply-to"),
        "separators": ("original message", "forwarded message", "reply message", "begin forwarded message"),
        "footers": ("sent from", "sent with", "sent via", "get outlook", "download outlook"),
        "valedictions": ("best regards", "kind regards", "warm regards", "regards", "best wishes", "best",
                         "cheers", "all the best", "br", "sincerely", "yours sincerely", "yours truly"),
        "thanks": ("thanks", "thank you", "many thanks", "thanks in advance"),
    },
    "de": {
        "verbs": ("schrieb", "geschrieben"),
        "starts": ("am",),
        "from_": ("von",),
        "date": ("gesendet", "datum"),
        "other": ("an", "kopie", "betreff", "antwort an"),
        "separators": ("ursprüngliche nachricht", "originalnachricht", "weitergeleitete nachricht",
                       "antwort nachricht", "anfang der weitergeleiteten nachricht",
                       "anfang der weitergeleiteten e-mail"),
        "footers": ("von meinem", "gesendet von", "gesendet mit", "diese nachricht wurde"),
        "footer_ends": ("beziehen", "gesendet"),
        "valedictions": ("mit freundlichen grüßen", "mit freundlichen grüssen", "freundliche grüße",
                         "viele grüße", "beste grüße", "liebe grüße", "herzliche grüße", "schöne grüße",
                         "grüße", "gruß", "lg", "mfg", "vg", "danke und viele grüße", "danke und gruß"),
        "thanks": ("danke", "vielen dank", "danke schön"),
    },
    "fr": {
        "verbs": ("a écrit", "écrit"),
        "starts": ("le",),
        "from_": ("de",),
        "date": ("envoyé", "date"),
        "other": ("à", "cc", "objet", "pour"),
        "separators": ("message d'origine", "message original", "message transféré",
                       "début du message réexpédié"),
        "footers": ("envoyé de", "envoyé depuis", "envoyé à partir de", "télécharger outlook"),
        "valedictions": ("cordialement", "bien cordialement", "bien à vous", "salutations",
                         "meilleures salutations", "sincères salutations", "amicalement", "bonne journée"),
        "thanks": ("merci", "merci d'avance", "merci beaucoup"),
    },
    "es": {
        "verbs": ("escribió",),
        "starts": ("el",),
        "from_": ("de",),
        "date": ("enviado", "enviado el", "fecha"),
        "other": ("para", "cc", "asunto"),
        "separators": ("mensaje original", "mensaje reenviado", "inicio del mensaje reenviado"),
        "footers": ("enviado desde", "obtener outlook"),
        "valedictions": ("saludos", "un saludo", "saludos cordiales", "atentamente", "un abrazo",
                         "cordialmente"),
        "thanks": ("gracias", "muchas gracias"),
    },
    "it": {
        "verbs": ("ha scritto", "scritto"),
        "starts": ("il", "il giorno"),
        "from_": ("da",),
        "date": ("inviato", "data"),
        "other": ("a", "cc", "oggetto"),
        "separators": ("messaggio originale", "messaggio inoltrato"),
        "footers": ("inviato da", "inviato dal", "scarica outlook"),
        "valedictions": ("cordiali saluti", "distinti saluti", "saluti", "un saluto", "buona giornata"),
        "thanks": ("grazie", "grazie mille"),
    },
    "pt": {
        "verbs": ("escreveu",),
        "starts": ("em",),
        "from_": ("de",),
        "date": ("enviado", "enviada", "data"),
        "other": ("para", "cc", "assunto"),
        "separators": ("mensagem original", "mensagem encaminhada"),
        "footers": ("enviado do", "enviado de", "obter o outlook"),
        "valedictions": ("atenciosamente", "abraços", "abraço", "cumprimentos", "melhores cumprimentos",
                         "saudações", "att"),
        "thanks": ("obrigado", "obrigada"),
    },
    "nl": {
        "verbs": ("schreef", "geschreven"),
        "starts": ("op",),
        "from_": ("van",),
        "date": ("verzonden", "datum"),
        "other": ("aan", "cc", "onderwerp"),
        "separators": ("oorspronkelijk bericht", "origineel bericht", "doorgestuurd bericht"),
        "footers": ("verzonden vanaf", "verstuurd vanaf", "verzonden met"),
        "footer_ends": ("downloaden",),
        "valedictions": ("met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groet",
                         "hartelijke groet", "groeten", "groetjes", "groet", "mvg"),
        "thanks": ("bedankt", "dank u", "dank je", "alvast bedankt"),
    },
    "sv": {
        "verbs": ("skrev",),
        "starts": ("den",),
        "from_": ("från",),
        "date": ("skickat", "datum"),
        "other": ("till", "kopia", "ämne"),
        "separators": ("ursprungligt meddelande", "originalmeddelande", "vidarebefordrat meddelande",
                       "vidarebefordrat brev"),
        "footers": ("skickat från", "hämta outlook"),
        "valedictions": ("med vänliga hälsningar", "vänliga hälsningar", "bästa hälsningar", "hälsningar",
                         "hälsning", "mvh", "vänligen"),
        "thanks": ("tack", "tack så mycket"),
    },
    "da": {
        "verbs": ("skrev",),
        "starts": ("den",),
        "from_": ("fra",),
        "date": ("sendt", "dato"),
        "other": ("til", "cc", "emne"),
        "separators": ("oprindelig meddelelse", "oprindelig besked", "videresendt meddelelse",
                       "videresendt besked"),
        "footers": ("sendt fra", "hent outlook"),
        "valedictions": ("med venlig hilsen", "venlig hilsen", "de bedste hilsner", "bedste hilsner",
                         "hilsen", "mvh"),
        "thanks": ("tak", "mange tak"),
    },
    "nb": {
        "verbs": ("skrev",),
        "starts": ("den", "på"),
        "from_": ("fra",),
        "date": ("sendt", "dato"),
        "other": ("til", "kopi", "emne"),
        "separators": ("opprinnelig melding", "originalmelding", "videresendt melding"),
        "footers": ("sendt fra", "få outlook"),
        "valedictions": ("med vennlig hilsen", "vennlig hilsen", "hilsen", "mvh"),
        "thanks": ("takk", "tusen takk"),
    },
    "fi": {
        "verbs": ("kirjoitti",),
        "starts": (),
        "from_": ("lähettäjä",),
        "date": ("lähetetty", "päivämäärä"),
        "other": ("vastaanottaja", "kopio", "aihe"),
        "separators": ("alkuperäinen viesti", "välitetty viesti", "välitetty viesti alkaa"),
        "footers": ("lähetetty", "hanki outlook"),
        "valedictions": ("ystävällisin terveisin", "parhain terveisin", "terveisin", "ystävällisesti"),
        "thanks": ("kiitos",),
    },
    "pl": {
        "verbs": ("napisał(a)", "napisał", "napisała", "pisze", "nadesłał"),
        "starts": ("w dniu", "dnia", "wiadomość"),
        "from_": ("od",),
        "date": ("wysłano", "wysłane", "data"),
        "other": ("do", "dw", "temat"),
        "separators": ("oryginalna wiadomość", "wiadomość oryginalna", "przekazana wiadomość"),
        "footers": ("wysłane z", "wysłano z", "pobierz aplikację outlook"),
        "valedictions": ("pozdrawiam", "z poważaniem", "z pozdrowieniami", "serdecznie pozdrawiam"),
        "thanks": ("dziękuję",),
    },
    "cs": {
        "verbs": ("napsal(a)", "napsal", "napsala"),
        "starts": ("dne",),
        "from_": ("od",),
        "date": ("odesláno", "datum"),
        "other": ("komu", "kopie", "předmět"),
        "separators": ("původní zpráva", "přeposlaná zpráva"),
        "footers": ("odesláno z",),
        "valedictions": ("s pozdravem", "s úctou", "hezký den"),
        "thanks": ("děkuji", "díky"),
    },
    "hu": {
        "verbs": ("írta",),
        "starts": (),
        "from_": ("feladó",),
        "date": ("elküldve", "dátum"),
        "other": ("címzett", "másolat", "tárgy"),
        "separators": ("eredeti üzenet", "továbbított üzenet"),
        "footers": ("elküldve",),
        "footer_ends": ("küldve",),
        "valedictions": ("üdvözlettel", "tisztelettel", "köszönettel", "üdv"),
        "thanks": ("köszönöm",),
    },
    "ru": {
        "verbs": ("написал(а)", "написал", "написала", "пишет", "писал(а)", "писал", "писала"),
        "starts": ("в",),
        "from_": ("от",),
        "date": ("отправлено", "дата"),
        "other": ("кому", "копия", "тема"),
        "separators": ("исходное сообщение", "оригинальное сообщение", "пересылаемое сообщение",
                       "пересланное сообщение"),
        "footers": ("отправлено с", "отправлено из", "получить outlook"),
        "valedictions": ("с уважением", "всего доброго", "с наилучшими пожеланиями"),
        "thanks": ("спасибо",),
    },
    "uk": {
        "verbs": ("написав(ла)", "написав", "написала", "пише", "писав"),
        "starts": (),
        "from_": ("від",),
        "date": ("надіслано", "дата"),
        "other": ("кому", "копія", "тема"),
        "separators": ("оригінальне повідомлення", "вихідне повідомлення", "переслане повідомлення",
                       "пересланий лист", "початок пересланого повідомлення"),
        "footers": ("надіслано з", "отримайте outlook"),
        "valedictions": ("з повагою", "з найкращими побажаннями", "щиро"),
        "thanks": ("дякую",),
    },
    "tr": {
        "verbs": ("yazdı",),
        "starts": (),
        "from_": ("kimden",),
        "date": ("gönderildi", "tarih"),
        "other": ("kime", "alıcı", "bilgi", "konu"),
        "separators": ("orijinal mesaj", "özgün ileti", "iletilen mesaj"),
        "footers": (),
        "footer_ends": ("gönderildi",),
        "valedictions": ("saygılarımla", "iyi çalışmalar", "selamlar", "sevgiler"),
        "thanks": ("teşekkürler", "teşekkür ederim"),
    },
    "vi": {
        "verbs": ("đã viết",),
        "starts": ("vào",),
        "from_": ("từ",),
        "date": ("đã gửi", "ngày"),
        "other": ("đến", "cc", "chủ đề"),
        "separators": ("thư gốc", "tin nhắn gốc"),
        "footers": ("gửi từ", "được gửi từ"),
        "valedictions": ("trân trọng", "thân mến"),
        "thanks": ("cảm ơn",),
    },
    "el": {
        "verbs": ("έγραψε",),
        "starts": ("στις",),
        "from_": ("από",),
        "date": ("στάλθηκε", "ημερομηνία"),
        "other": ("προς", "κοιν", "θέμα"),
        "separators": ("αρχικό μήνυμα", "προωθημένο μήνυμα"),
        "footers": ("στάλθηκε από",),
        "valedictions": ("με εκτίμηση", "φιλικά", "με φιλικούς χαιρετισμούς"),
        "thanks": ("ευχαριστώ",),
    },
    "ro": {
        "verbs": ("a scris",),
        "starts": ("pe",),
        "from_": ("de la",),
        "date": ("trimis", "dată"),
        "other": ("către", "cc", "subiect"),
        "separators": ("mesaj original", "mesaj redirecționat"),
        "footers": ("trimis de pe", "trimis din"),
        "valedictions": ("cu stimă", "cu respect", "toate cele bune"),
        "thanks": ("mulțumesc",),
    },
    # CJK: attribution verbs follow the date or the address without a space
    "ja": {
        "verbs": ("のメール",),
        "from_": ("差出人",),
        "date": ("送信日時", "日付"),
        "other": ("宛先", "件名", "cc"),
        "separators": ("元のメッセージ", "転送されたメッセージ"),
        "footer_ends": ("から送信",),
    },
    "zh": {
        "verbs": ("写道", "寫道"),
        "starts": ("在",),
        "from_": ("发件人", "寄件者"),
        "date": ("发送时间", "日期", "寄件日期"),
        "other": ("收件人", "抄送", "主题", "主旨"),
        "separators": ("原始邮件", "原始郵件", "转发的邮件"),
        "footers": ("发自", "发送自"),
    },
    "ko": {
        "verbs": ("작성", "작성하였습니다"),
        "from_": ("보낸 사람",),
        "date": ("보낸 날짜",),
        "other": ("받는 사람", "참조", "제목"),
        "separators": ("원본 메시지", "전달된 메시지"),
        "footer_ends": ("보냄",),
    },
}
# fmt: on

# apps and devices named in "sent from my ..." footers (stems: "iPhonu", "iPhone'a"): a footer
# line must name one, so a sentence like "the parcel was sent from your warehouse" is never taken for a footer
FOOTER_DEVICES: Final = (
    "iphon", "ipad", "android", "galaxy", "samsung", "outlook", "yahoo", "gmx", "web.de", "mail",
    "spark", "polymail", "smartphone", "mobile", "mobil", "handy", "windows", "яндекс", "почты",
    "blackberry", "pixel", "huawei", "xiaomi", "telefon",
)  # fmt: skip


def words(field: str) -> list[str]:
    """All locales' entries for one field, longest first (so alternations prefer them)."""
    found = {w for row in LOCALES.values() for w in row.get(field, ())}
    return sorted(found, key=lambda w: (-len(w), w))
