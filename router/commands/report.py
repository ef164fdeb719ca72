"""`inquiry-router report`: volume, response times, SLA, CSAT and workload for a period.

The progress indicator goes to stderr and only when stderr is a terminal: piping the
CSV or JSON on stdout into a file stays clean, and a cron job's mail stays quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from router.commands._common import add_config_arg, load_or_report
from router.config import Config
from router.engine import audit
from router.store import open_store, utcnow
from router.web.reports.compute import DIMENSIONS, period
from router.web.reports.load import parse_day_or_time, report_for
from router.web.reports.render_html import render_html
from router.web.reports.render_text import render_csv, render_json, render_table

FORMATS = ("table", "csv", "json", "html", "xlsx")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("report", help="reports: volume, response times, SLA, CSAT")
    add_config_arg(parser)
    parser.add_argument("--from", dest="start", help="first day (YYYY-MM-DD) or ISO time; "
                        "default: 29 days before today, so the last 30 days with today")
    parser.add_argument("--to", dest="end", help="last day, included (YYYY-MM-DD) or ISO time; "
                        "default: today (included)")
    parser.add_argument("--by", choices=DIMENSIONS,
                        default="channel", help="breakdown of the main table")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", "-o", help="write to this file instead of stdout "
                        "(default: stdout; e.g. -o /tmp/report.html; xlsx goes to a "
                        "terminal only with -o)")
    parser.set_defaults(func=run)


class ProgressBar:
    """`[#####.....]  50%  250/500 conversations` redrawn in place on a TTY."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream, self.width, self.drawn = stream, width, False

    def __call__(self, done: int, total: int) -> None:
        if not self.stream.isatty() or total <= 0:
            return
        filled = self.width * done // total
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{100 * done // total:3d}%  {done}/{total} conversations")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")


def window(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    default_start, default_end = period(30, now)
    start = parse_day_or_time(args.start) if args.start else default_start
    end = parse_day_or_time(args.end, end=True) if args.end else default_end
    return start, end


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1
    try:
        start, end = window(args, utcnow())
    except ValueError as exc:
        print(f"error: --from/--to: {exc}", file=sys.stderr)
        return 2
    if end <= start:
        print("error: --to must be after --from", file=sys.stderr)
        return 2
    if args.format == "xlsx" and not args.output and sys.stdout.isatty():
        print("error: an xlsx workbook is binary: write it to a file with --output "
              "(e.g. -o report.xlsx) or redirect stdout", file=sys.stderr)
        return 2
    out = asyncio.run(_render(config, args, start, end))
    if args.output:
        if isinstance(out, bytes):
            Path(args.output).write_bytes(out)
        else:
            Path(args.output).write_text(out, encoding="utf-8")
        print(f"report written to {args.output}", file=sys.stderr)
    elif isinstance(out, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(out)
    else:
        sys.stdout.write(out)
    return 0


async def _render(config: Config, args: argparse.Namespace, start: datetime,
                  end: datetime) -> str | bytes:
    store = open_store(config.settings.storage.url, base_dir=Path(config.path).resolve().parent)
    await store.open()
    bar = ProgressBar(sys.stderr)
    try:
        report = await report_for(config, store, start, end, progress=bar)
        await store.write(lambda tx: audit.report_made(  # issue 29
            tx, audit.cli(), start, end, fmt=args.format, grouping=args.by, now=utcnow()))
    finally:
        bar.close()
        await store.close()
    if args.format == "csv":
        return render_csv(report, args.by)
    if args.format == "json":
        return render_json(report)
    if args.format == "html":
        return render_html(report, args.by, title=config.settings.service.name)
    if args.format == "xlsx":  # issue 27
        from router.web.reports.render_xlsx import render_xlsx

        return render_xlsx(report, args.by, title=config.settings.service.name)
    return render_table(report, args.by, title=config.settings.service.name)
