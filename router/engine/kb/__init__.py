"""Knowledge base imported from a help centre (issue 27): `inquiry-router kb import`.

reader.py reads an export (Markdown, HTML, a Confluence space export, a .zip of one) into
articles split into sections (model.py, markdown.py, html.py); library.py keeps them in
`<data_dir>/kb/articles.json`. The functions here are what the rest of the router uses:
the wiring hands the sections to the bots (bots/articles.py matches them), the service
watches the file to reload the bots after an import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from router.domain.errors import ConfigError, Problem
from router.engine.kb.library import KbFileError, kb_file, load_sections

if TYPE_CHECKING:
    from router.config import Config


def kb_path(config: Config) -> Path:
    return kb_file(config.data_path())


def sections_for(config: Config) -> list[dict[str, Any]]:
    """The imported sections for the bots; none before the first import.

    An unreadable file is a configuration problem like a broken YAML file: `check`
    reports it, `serve` refuses to start, a reload keeps the bots it has.
    """
    path = kb_path(config)
    if not path.exists():
        return []
    try:
        return load_sections(path)
    except KbFileError as exc:
        raise ConfigError([Problem(str(path), 0, 0, str(exc).removeprefix(f"{path}: "),
                                   "run `inquiry-router kb import` again")]) from exc


def watch_paths(config: Config) -> list[str]:
    """What the service's reloader watches besides the config files: the knowledge-base
    file (its folder is made, 0700 like the data dir, so that the first import is seen)."""
    path = kb_path(config)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return [str(path)]
