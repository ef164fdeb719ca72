"""The built-in loopback channel: JSON over HTTP, for tests, demos and local use."""
