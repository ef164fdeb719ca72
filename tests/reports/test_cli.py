"""`inquiry-router report`, `export-contact` and `erase-contact` on a generated history."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from router.cli import main
from tests.reports.history import EMAIL, PHONE, History


def _history(tmp_path: Path) -> History:
    """Built in its own event loop: the commands run `asyncio.run` themselves."""
    history = History(tmp_path)

    async def build() -> None:
        await history.build()
        await history.store.close()

    asyncio.run(build())
    return history


def test_report_formats(tmp_path: Path, capsys):
    history = _history(tmp_path)
    cfg = str(tmp_path / "config.yaml")
    assert main(["report", "-c", cfg, "--from", "2026-03-02", "--to", "2026-03-08"]) == 0
    out = capsys.readouterr().out
    assert "webchat" in out and "SLA compliance" in out and "customer_request" in out
    assert main(["report", "-c", cfg, "--from", "2026-03-02", "--to", "2026-03-08", "--by",
                 "agent", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["opened"] == 5 and data["by"]["agent"][0]["key"] in {"ann", "(none)"}
    html = tmp_path / "r.html"
    assert main(["report", "-c", cfg, "--from", "2026-03-02", "--to", "2026-03-08",
                 "--format", "html", "-o", str(html)]) == 0
    assert "<svg" in html.read_text(encoding="utf-8")
    assert main(["report", "-c", cfg, "--from", "2026-03-09", "--to", "2026-03-01"]) == 2
    assert history.config


def test_export_then_erase_from_the_command_line(tmp_path: Path, capsys):
    _history(tmp_path)
    cfg = str(tmp_path / "config.yaml")
    out_file = tmp_path / "export.json"
    assert main(["export-contact", "-c", cfg, "--email", EMAIL, "-o", str(out_file)]) == 0
    assert PHONE in out_file.read_text(encoding="utf-8")
    assert main(["erase-contact", "-c", cfg, "--email", EMAIL]) == 2  # no --yes
    assert main(["erase-contact", "-c", cfg, "--identity", f"email:{EMAIL}", "--yes"]) == 0
    assert "erased" in capsys.readouterr().out
    assert main(["export-contact", "-c", cfg, "--email", EMAIL]) == 1  # nobody has it now
