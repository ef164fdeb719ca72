"""Outgoing webhooks (issue 27): signed JSON deliveries of conversation, message, contact,
CSAT and SLA events, written to the outbox in the unit of work that caused them.

`settings` (the `webhooks:` config), `events` (what a store change becomes), `hooks` (the
store's unit-of-work hooks that write the outbox rows), `signing` (HMAC-SHA256 over the
timestamp and the body). Delivery is router/engine/webhook_channel.py's. docs/integrations.md.
"""
