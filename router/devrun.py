"""What `make run` runs: `serve` in a child process, then, once /healthz answers, where to go.

Prints the web chat and console addresses, the agents that exist and the one command that
gives an agent a console password; then waits for the service (Ctrl-C stops both). Gives up
with exit 1 when the service stops early or does not answer within `--deadline` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from router.commands._common import load_or_report
from router.config import Config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m router.devrun")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--deadline", type=float, default=60.0)
    args = parser.parse_args(argv)
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1
    http = config.settings.http
    port = args.port if args.port is not None else http.port
    host = "127.0.0.1" if http.host in ("0.0.0.0", "::", "") else http.host
    base = f"http://{host}:{port}"
    print(f"starting… {base} (config {args.config})", flush=True)
    cmd = [sys.executable, "-m", "router", "serve", "--config", args.config, "--port", str(port)]
    child = subprocess.Popen(cmd)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    if not _wait_ready(child, f"{base}/healthz", args.deadline):
        if child.poll() is None:
            print(f"error: {base}/healthz did not answer within {args.deadline:.0f} s; "
                  "stopping", file=sys.stderr, flush=True)
            child.terminate()
        else:
            print(f"error: the service stopped (exit {child.returncode}); see the lines above",
                  file=sys.stderr, flush=True)
        child.wait()
        return 1
    print(banner(config, base), flush=True)
    return child.wait()


def _wait_ready(child: subprocess.Popen[bytes], url: str, deadline: float) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end and child.poll() is None:
        with (contextlib.suppress(OSError, urllib.error.URLError),
              urllib.request.urlopen(url, timeout=2) as resp):
            if resp.status == 200:
                return True
        time.sleep(0.3)
    return False


def banner(config: Config, base: str) -> str:
    agents = asyncio.run(_agents(config))
    lines = ["", f"ready: {config.settings.service.name} on {base}",
             f"  web chat (customers): {base}/chat",
             f"  agent console:        {base}/console"]
    if agents:
        lines.append("  agents: " + ", ".join(
            f"{name} ({role}{', has a password' if has else ', no password yet'})"
            for name, role, has in agents))
    else:
        lines.append("  no agents yet: inquiry-router agents add NAME --role admin")
    first = next((name for name, _, has in agents if not has), agents[0][0] if agents else "NAME")
    lines += [f"  give an agent a console password: .venv/bin/inquiry-router agents passwd {first}",
              "  stop with Ctrl-C", ""]
    return "\n".join(lines)


async def _agents(config: Config) -> list[tuple[str, str, bool]]:
    from router.store import open_store

    store = open_store(config.settings.storage.url, base_dir=Path(config.path).resolve().parent)
    await store.open()
    try:
        agents = await store.read(lambda tx: tx.list_agents(include_disabled=False))
        found = []
        for a in agents:
            login = await store.read(lambda tx, n=a.name: tx.find_agent_login(n))
            found.append((a.name, str(a.role), bool(login and login[1])))
        return found
    finally:
        await store.close()


if __name__ == "__main__":
    sys.exit(main())
