"""`make bench`: run every benchmark, JSON lines to stdout, a readable table to stderr."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time

import benchmarks


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the shape test")
    parser.add_argument("only", nargs="*", help="benchmark module names (default: all)")
    args = parser.parse_args()
    names = [m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")]
    if args.only:
        names = [n for n in names if n in args.only or n.removeprefix("bench_") in args.only]
    if not names:
        print("no benchmarks yet", file=sys.stderr)
        return 1
    started = time.monotonic()
    for number, name in enumerate(sorted(names), 1):
        # progress on stderr (the whole run takes minutes, ingest alone about three)
        print(f"[{number}/{len(names)}] {name.removeprefix('bench_')} ...", file=sys.stderr,
              flush=True)
        began = time.monotonic()
        module = importlib.import_module(f"benchmarks.{name}")
        for row in module.run(quick=args.quick):
            print(json.dumps(row), flush=True)
            print("  ".join(f"{k}={v}" for k, v in row.items()), file=sys.stderr, flush=True)
        print(f"[{number}/{len(names)}] {name.removeprefix('bench_')} took "
              f"{time.monotonic() - began:.0f} s ({time.monotonic() - started:.0f} s so far)",
              file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
