"""Wires the optional packages (rules, bots) into the decision function the pipeline runs."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from router.config import Config
from router.configuration.local_secret import lazy_secret
from router.domain.errors import ConfigError, Problem
from router.domain.model import Decision, DecisionContext
from router.engine.kb import sections_for
from router.engine.pipeline import Decide, queue_everything

log = logging.getLogger(__name__)


class ComposedDecide:
    """Rules, then bots, as one pure `Decide`.

    The bots post-process the rules' decision (see bots/engine.py); the rules' actions and
    trace stay in the result, the bots' reasoning is appended to the trace. `ruleset` and
    `bots` are exposed for `inquiry-router try` (`bots.explain(ctx)` lists FAQ candidates).
    """

    def __init__(self, ruleset: Any = None, bots: Any = None) -> None:
        self.ruleset = ruleset
        self.bots = bots

    @property
    def version(self) -> str:
        """The rule set's content hash: what `/status` and reload results show."""
        return str(getattr(self.ruleset, "version", ""))

    def __call__(self, ctx: DecisionContext) -> Decision:
        decision = self.ruleset.decide(ctx) if self.ruleset is not None else Decision()
        if self.bots is not None:
            decision = self.bots.decide(ctx, decision)
        return decision  # type: ignore[no-any-return]


def _optional(package: str, attr: str) -> Any:
    if importlib.util.find_spec(package) is None:
        return None
    return getattr(importlib.import_module(package), attr, None)


def template_engine() -> Any:
    """The rules' Jinja2 sandbox (`rules.templates`: compile_template, render) that agents'
    macros render in (issue 24), or None without the rules package."""
    if importlib.util.find_spec("rules") is None:
        return None
    return importlib.import_module("rules.templates")


def build_decide(config: Config, *, csat_key: Callable[[], str] | None = None) -> Decide:
    """Compile the config's rules and bots into one pure decision function.

    Raises ConfigError with every problem found (rules and bots together), located at
    file:line:column. `csat_key` signs CSAT surveys when `bots.csat.secret` is not set;
    by default `CSAT_SECRET`, else `<data_dir>/csat.secret`, read (or made) only when
    a survey is first signed, so that `check` writes nothing.
    """
    problems: list[Problem] = []
    ruleset = None
    compile_rules = _optional("rules", "compile_rules")
    if compile_rules is not None:
        try:
            ruleset = compile_rules(config.source, queues=config.queue_names,
                                    agents=config.agent_names, teams=config.team_names)
        except ConfigError as exc:
            problems.extend(exc.problems)
    bots = None
    compile_bots = _optional("bots", "compile_bots")
    if compile_bots is not None:
        s = config.settings.service
        try:
            # issue 27: help-centre articles imported with `kb import` (data/kb/)
            articles = sections_for(config)
            bots = compile_bots(config.source, ruleset=ruleset, default_queue=s.default_queue,
                                public_url=s.public_url,
                                csat_key=csat_key or lazy_secret(config.data_path(), "csat"),
                                **({"articles": articles} if articles else {}))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.file, p.line, p.column)))
    if ruleset is None and bots is None:
        return queue_everything
    return ComposedDecide(ruleset, bots)
