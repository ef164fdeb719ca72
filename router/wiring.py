"""Wires the optional packages (rules, bots) into the decision function the pipeline runs."""

from __future__ import annotations

import importlib
import importlib.util

from router.config import Config
from router.pipeline import Decide, queue_everything


def build_decide(config: Config) -> Decide:
    """Compile the config's rules (and bots) into one pure decision function.

    Raises ConfigError with every problem found, located at file:line:column.
    """
    if importlib.util.find_spec("rules") is None:
        return queue_everything
    rules = importlib.import_module("rules")
    compile_rules = getattr(rules, "compile_rules", None)
    if compile_rules is None:
        return queue_everything
    ruleset = compile_rules(config.source, queues=config.queue_names, agents=config.agent_names,
                            teams=config.team_names)
    return ruleset.decide  # type: ignore[no-any-return]
