"""Issue 26: masking hides secret values, never the documentation in a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import load_config
from router.domain.errors import ConfigError
from router.logs import Redactor
from tests.conftest import write_config


def test_a_hint_naming_an_environment_variable_survives_masking():
    redact = Redactor(["a-configured-secret-value"])
    for hint in ("set secret: ${CSAT_SECRET} and export CSAT_SECRET",
                 "export CSAT_SECRET=... before starting, or use ${CSAT_SECRET:-default}",
                 "token: <your bot token>"):
        assert redact(hint) == hint
    # real values are still hidden, also next to a reference
    assert redact("secret: hunter22 (from ${CSAT_SECRET})") == "secret: *** (from ${CSAT_SECRET})"
    assert redact("secret=${X:-realdefault1}") == "secret=***}"
    assert redact("key a-configured-secret-value") == "key ***"


def test_the_reload_error_for_an_unset_secret_reads_as_written(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("CSAT_SECRET", raising=False)
    path = write_config(tmp_path, "bots:\n  csat:\n    secret: ${CSAT_SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "export CSAT_SECRET=... before starting, or use ${CSAT_SECRET:-default}" in message
    assert Redactor()(message) == message
