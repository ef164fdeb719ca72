"""Bots: FAQ answers, hand-off to people, business hours, CSAT, and no reply loops.

`compile_bots(source, ruleset=..., default_queue=...)` validates the `faq:` and `bots:`
keys and returns `Bots`, a pure decision stage run after the rules:
`Bots.decide(ctx, rules_decision) -> Decision`. `Bots.explain(ctx)` lists the FAQ
candidates and scores (`inquiry-router try`). Reference: docs/bots.md.
"""

from bots.compile import compile_bots
from bots.stage import Bots

__all__ = ["Bots", "compile_bots"]
