"""Hot reload of the rules: watch the config files, swap a new `RuleSet` in atomically.

A `RuleSet` is immutable, so a reload is one reference assignment on the event loop's
thread: a message that already read `holder.current` finishes with the rules it started
with, the next one gets the new rules, and nothing ever sees half of each. Compiling runs
in a worker thread so traffic keeps flowing meanwhile. An invalid change is logged with
every problem and rejected; the old rules keep running and `/status` shows why.

Wiring (service start-up):

    holder = RulesHolder(ruleset)
    pipeline = Pipeline(store, decider=lambda: holder.current.decide, ...)
    reloader = Reloader(holder, load=lambda: compile_rules(...), paths=config.source.files)
    reloader.install_sighup()
    task = asyncio.create_task(reloader.run(stop_event))
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from watchfiles import Change, awatch

from router.domain.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")


class RulesHolder(Generic[T]):
    """The current rule set; read `current` once per message."""

    def __init__(self, current: T) -> None:
        self.current = current


class Reloader(Generic[T]):
    """Reloads `holder.current` from `load()` on file changes and on `reload_now()`."""

    #: watchfiles' idle round (`rust_timeout`) and its check for changes and for `stop`
    #: (`step`), in ms. A change is picked up within `step` plus the debounce whatever
    #: the round; each idle round hands over to a worker thread and back. At 100 ms and
    #: 20 ms the watcher was most of an idle instance's CPU (9 of 10 ms a second; 2 now),
    #: paid once per instance when several share a host (issue 28).
    IDLE_ROUND_MS = 1000
    STEP_MS = 50

    def __init__(self, holder: RulesHolder[T], *, load: Callable[[], T],
                 paths: Iterable[str] | Callable[[], Iterable[str]],
                 debounce_ms: int = 200) -> None:
        self.holder = holder
        self.load = load
        self._paths = paths
        self.debounce_ms = debounce_ms
        self.last_reload: dict[str, Any] = {"ok": True, "at": _now(),
                                            "version": _version(holder.current), "errors": []}
        self.ready = asyncio.Event()  # set after the watcher's first idle round (tests wait on it)
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        #: awaited after each `reload()` with its result, before `reload()` returns (the
        #: audit log records it; issue 29)
        self.after: list[Callable[[dict[str, Any]], Awaitable[None]]] = []
        self._lock = asyncio.Lock()

    def paths(self) -> list[str]:
        raw = self._paths() if callable(self._paths) else self._paths
        return [str(Path(p).resolve()) for p in raw]

    def reload_now(self) -> bool:
        """Load and swap synchronously (blocks while compiling). True if swapped."""
        try:
            new = self.load()
        except ConfigError as exc:
            return self._rejected([str(p) for p in exc.problems])
        except Exception as exc:  # a bug while loading must not take the service down
            log.exception("rules reload failed")
            return self._rejected([f"{type(exc).__name__}: {exc}"])
        return self._swap(new)

    async def reload(self) -> bool:
        """Compile in a worker thread, then swap on the loop's thread. True if swapped."""
        async with self._lock:
            try:
                new = await asyncio.to_thread(self.load)
            except ConfigError as exc:
                swapped = self._rejected([str(p) for p in exc.problems])
            except Exception as exc:
                log.exception("rules reload failed")
                swapped = self._rejected([f"{type(exc).__name__}: {exc}"])
            else:
                swapped = self._swap(new)
            for hook in list(self.after):
                try:
                    await hook(self.last_reload)
                except Exception:  # recording a reload must not undo it
                    log.exception("after-reload hook failed")
            return swapped

    def install_sighup(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """`kill -HUP` reloads too (for deployments that do not want a file watcher)."""
        loop = loop or asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Watch the directories of the config files until `stop` is set."""
        watched = self.paths()
        dirs = sorted({str(Path(p).parent) for p in watched})

        def relevant(change: Change, path: str) -> bool:
            return path in self.paths() or path.endswith((".yaml", ".yml"))

        async for changes in awatch(*dirs, watch_filter=relevant, stop_event=stop,
                                    debounce=self.debounce_ms, step=self.STEP_MS,
                                    rust_timeout=self.IDLE_ROUND_MS,
                                    yield_on_timeout=True):
            self.ready.set()
            if changes:
                log.info("config changed (%s), reloading rules",
                         ", ".join(sorted(Path(p).name for _, p in changes)))
                await self.reload()

    def _swap(self, new: T) -> bool:
        self.holder.current = new
        self._record({"ok": True, "at": _now(), "version": _version(new), "errors": []})
        log.info("rules reloaded: version %s", _version(new))
        return True

    def _rejected(self, errors: list[str]) -> bool:
        for error in errors:
            log.error("rules reload rejected: %s", error)
        self._record({"ok": False, "at": _now(), "version": _version(self.holder.current),
                      "errors": errors})
        return False

    def _record(self, result: dict[str, Any]) -> None:
        self.last_reload = result
        for listener in list(self.listeners):
            listener(result)


def _version(ruleset: Any) -> str:
    return str(getattr(ruleset, "version", ""))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
