"""Data protection (GDPR): export a contact's data, erase it, and apply retention.

Erasure anonymises rather than deletes what reports are computed from (conversations and
events keep their times, kinds, queue, channel, language, tags and scores), so aggregate
figures for any period are the same before and after; everything that names or reaches
the person (names, addresses, phone numbers, identities, message text, raw mail, files,
CSAT comments) is removed. See docs/reports.md.
"""
