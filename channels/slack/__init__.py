"""Slack: customers in DMs, mentions and shared channels; agents in an agents' channel."""
