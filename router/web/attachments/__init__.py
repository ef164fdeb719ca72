"""Files customers and agents send (issue 24): what a file is, whether we take it, where
it is kept and how it is served back.

- `sniff`: the type of a file from its first bytes (magic numbers), never from its name
  or the type the sender claims; the allowed types and the refusal messages.
- `keep`: content-addressed storage under the data dir (`attachments/<source>/<sha256>`,
  as Telegram downloads already are), written while counting, so a file over the limit
  is cut off and never kept.
- `serve`: the HTTP answer for a stored file (type from the sniff, `nosniff`, a
  `Content-Disposition`, a sandboxing CSP), for the agents' API and the web chat.
"""
