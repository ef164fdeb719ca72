"""Telegram message content (photos, files, voice, locations...) as domain attachments.

Only metadata is kept: the `file_id` is the reference an agent (or a later download) uses
to fetch the file through the Bot API, so nothing is downloaded on the webhook path.
"""

from __future__ import annotations

from aiogram.types import Message

from router.domain.model import Attachment


def attachments_of(m: Message) -> tuple[Attachment, ...]:
    caption = m.caption or ""
    out: list[Attachment] = []
    if m.photo:
        best = max(m.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        out.append(Attachment("photo", mime="image/jpeg", size=best.file_size or 0,
                              ref=best.file_id, caption=caption))
    for kind in ("document", "audio", "video", "animation"):
        item = getattr(m, kind)
        if item is not None:
            out.append(Attachment(kind, name=item.file_name or "", mime=item.mime_type or "",
                                  size=item.file_size or 0, ref=item.file_id, caption=caption))
            if kind == "animation":  # Telegram also sends an animation as `document`
                out = [a for a in out if not (a.kind == "document" and a.ref == item.file_id)]
    if m.voice is not None:
        out.append(Attachment("voice", mime=m.voice.mime_type or "audio/ogg",
                              size=m.voice.file_size or 0, ref=m.voice.file_id, caption=caption))
    if m.video_note is not None:
        out.append(Attachment("video_note", mime="video/mp4", size=m.video_note.file_size or 0,
                              ref=m.video_note.file_id))
    if m.sticker is not None:
        s = m.sticker
        mime = ("video/webm" if s.is_video else
                "application/x-tgsticker" if s.is_animated else "image/webp")
        out.append(Attachment("sticker", name=s.emoji or s.set_name or "", mime=mime,
                              size=s.file_size or 0, ref=s.file_id))
    if m.location is not None:
        name = m.venue.title if m.venue is not None else ""
        out.append(Attachment("location", name=name,
                              ref=f"{m.location.latitude},{m.location.longitude}"))
    if m.contact is not None:
        c = m.contact
        name = " ".join(p for p in (c.first_name, c.last_name or "") if p)
        out.append(Attachment("contact", name=name, ref=c.phone_number,
                              mime="text/vcard" if c.vcard else ""))
    return tuple(out)
