"""Rules engine: admin YAML routing rules, canned replies, language detection.

    ruleset = compile_rules(source, queues=..., agents=..., teams=...)
    decision = ruleset.decide(ctx)   # pure; swap `ruleset` references to reload
"""

from rules.engine import CompiledRule, Explanation, RuleSet
from rules.loader import compile_rules

__all__ = ["CompiledRule", "Explanation", "RuleSet", "compile_rules"]
