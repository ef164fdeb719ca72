"""`inquiry-router kb`: import a help centre's articles for the FAQ bot, list, remove.

`kb import DIR|FILE` reads an export (a folder of Markdown or HTML files, a Confluence
space's HTML export, one file, or a .zip of any of them), splits the articles into
sections and keeps them in `<data_dir>/kb/articles.json` (router/engine/kb). Importing the same
source again updates it without duplicates. A running service sees the file change and
reloads its bots, as it does for config files (`kill -HUP` works too).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

from router.commands._common import add_config_arg, load_or_report

DEFAULT_LANGUAGES = ("sv", "fi", "nb", "uk", "en")  # the rules' own default for languages:


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("kb", help="the knowledge base imported from a help centre")
    add_config_arg(parser)
    actions = parser.add_subparsers(dest="kb_command", metavar="ACTION")
    actions.required = True
    imp = actions.add_parser(
        "import", help="import a help-centre export (folder, file or .zip of Markdown/HTML)",
        description="Read a help centre's export (a folder of Markdown or HTML files, a "
                    "Confluence space HTML export, one file, or a .zip of any of them), split "
                    "its articles into sections and make them searchable for the FAQ bot. "
                    "Importing the same source again replaces it: changed articles are "
                    "updated, removed ones dropped, nothing is duplicated.")
    imp.add_argument("path", metavar="DIR|FILE", help="the export to import")
    imp.add_argument("--source", default="",
                     help="a name for this export (default: the folder's or file's name); "
                          "importing under the same name again replaces it")
    imp.add_argument("--base-url", default="",
                     help="where the articles are published, e.g. https://example.com/help/ "
                          "(answers link to base URL + the article's path)")
    imp.add_argument("--language", default="",
                     help="language of articles that do not say (default: detected per article)")
    imp.add_argument("--json", action="store_true", help="print the result as JSON")
    for name, text in (("list", "the imported sources"), ("remove", "forget an imported source")):
        p = actions.add_parser(name, help=text)
        if name == "remove":
            p.add_argument("source", help="the source's name, as `kb list` shows it")
        p.add_argument("--json", action="store_true", help="print JSON")
    for p in (imp, *(actions.choices[n] for n in ("list", "remove"))):
        p.add_argument("--config", "-c", default=argparse.SUPPRESS,
                       help="path to config.yaml (default: the kb command's --config)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1
    from router.engine.kb import kb_path

    path = kb_path(config)
    if args.kb_command == "import":
        return _import(args, config, path)
    if args.kb_command == "list":
        return _list(args, path)
    return _remove(args, path)


def _import(args: argparse.Namespace, config: Any, path: Path) -> int:
    from router.engine.kb.library import report_dict, save
    from router.engine.kb.reader import read_export
    from router.store import utcnow

    started = time.perf_counter()
    source_path = Path(args.path)
    languages = frozenset(str(x) for x in config.source.data.get("languages") or [])
    export = read_export(source_path, base_url=args.base_url, language=args.language,
                         languages=languages | {args.language} - {""},
                         detect=None if args.language else _detector(config))
    name = args.source or source_path.resolve().name.removesuffix(".zip")
    report = save(path, name, export, origin=str(source_path.resolve()), now=utcnow())
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({**report_dict(report), "file": str(path),
                          "seconds": round(seconds, 3)}, ensure_ascii=False, indent=2))
        return 0
    print(f"imported {report.source!r}: {report.articles} articles, {report.sections} sections "
          f"({report.added} new, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.removed} removed) in {seconds:.2f} s")
    for skipped in report.skipped:
        print(f"  skipped {skipped}")
    print(f"stored in {path}; a running service reloads it by itself")
    return 0


def _detector(config: Any) -> Any:
    """The rules' language detector over `languages:` (None without the rules package):
    built alone, not with the whole rule set, so that an import stays quick."""
    if importlib.util.find_spec("rules") is None:
        return None
    data = config.source.data
    languages = [str(x) for x in data.get("languages") or []] or list(DEFAULT_LANGUAGES)
    made: list[Any] = []

    def detect(text: str) -> str:
        if not made:  # built at the first article that does not say its language
            language = importlib.import_module("rules.language")
            made.append(language.Detector(languages, str(data.get("default_language")
                                                         or languages[0])))
        return str(made[0].detect(text)[0] or "")

    return detect


def _list(args: argparse.Namespace, path: Path) -> int:
    from router.engine.kb.library import sources

    found = sources(path)
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("nothing imported yet (inquiry-router kb import DIR|FILE)")
    for s in found:
        print(f"{s['source']}  {s['articles']} articles, {s['sections']} sections, "
              f"{'/'.join(s['languages'])}, imported {s['imported_at']} from {s['origin']}")
    return 0


def _remove(args: argparse.Namespace, path: Path) -> int:
    from router.engine.kb.library import remove

    gone = remove(path, args.source)
    if args.json:
        print(json.dumps({"source": args.source, "articles": gone}))
        return 0 if gone else 1
    if not gone:
        print(f"error: no imported source named {args.source!r} (see `kb list`)",
              file=sys.stderr)
        return 1
    print(f"removed {args.source!r} ({gone} articles)")
    return 0
