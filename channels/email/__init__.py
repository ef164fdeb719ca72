"""Email channel: IMAP/SMTP in, threaded replies out, quotes stripped, no loops.

`parse` (pure bytes -> InboundMessage), `quotes`, `htmltext`, `automatic` (loop guards),
`threads` (thread keys), `compose` (outbound MIME), `imap`, `smtp_in`, `adapter`.
"""
