"""The web chat channel: a customer widget (`/chat`, embeddable loader) over a WebSocket."""
