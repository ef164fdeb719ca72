"""Bad `faq:` / `bots:` settings fail at start-up, located, with a hint."""

from __future__ import annotations

import pytest

from router.domain.errors import RuleError
from tests.bots.helpers import make_bots


def problems(tmp_path, text: str, **kw) -> list[str]:
    with pytest.raises(RuleError) as info:
        make_bots(tmp_path, text, **kw)
    return [str(p) for p in info.value.problems]


def test_typo_in_bots_key_is_located_with_a_hint(tmp_path):
    [p] = problems(tmp_path, "bots:\n  handoff:\n    max_failure: 3\n", with_faq=False)
    assert "bots-config.yaml:3:" in p and "unknown key 'max_failure'" in p and "max_failures" in p


def test_short_csat_secret_and_unknown_reply_and_duplicate_faq_id(tmp_path):
    text = """
faq:
  - {id: a, questions: {en: [hi there]}, answers: {en: Hello}}
  - {id: a, questions: {en: [bye now]}, answers: {en: Bye}}
bots:
  csat: {enabled: true, secret: short-s3cret}
"""
    found = problems(tmp_path, text, with_faq=False)
    assert any("duplicate FAQ entry id 'a'" in p for p in found)
    [short] = [p for p in found if "bots.csat.secret" in p]
    assert "at least 16 characters" in short and "short-s3cret" not in short  # never the value
    # no secret at all is fine: CSAT is on by default with a key kept in the data dir
    assert make_bots(tmp_path, "bots: {csat: {enabled: true}}", with_faq=False).settings.csat.enabled
    assert make_bots(tmp_path, "", with_faq=False).settings.csat.enabled
    [p] = problems(tmp_path, "bots: {away: {reply: awya}}", with_faq=False)
    assert "unknown reply 'awya'" in p and "did you mean 'away'" in p


def test_shipped_config_compiles(tmp_path):
    from router.config import load_config
    from router.wiring import build_decide
    from tests.bots.helpers import ROOT

    decide = build_decide(load_config(ROOT / "config.yaml"))
    assert len(decide.bots.faq.entries) >= 10 and decide.bots.hours is decide.ruleset
