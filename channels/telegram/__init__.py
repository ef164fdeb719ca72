"""Telegram channel on aiogram 3: webhook or long polling in, Bot API out (see docs/telegram.md)."""
