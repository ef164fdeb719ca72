"""How busy the event loop's thread is: the share of wall time it spent on the CPU.

The SQLite writer uses it to tell "acknowledgements keep coming but there is room" from
"acknowledgements are all the loop can do": only in the second case does work nobody
waits for (processing accepted messages) step aside. The arrival rate alone cannot tell
the two apart, because it depends on how fast the machine is.
"""

from __future__ import annotations

import time


class LoopLoad:
    """Utilisation of the calling thread over windows of `window` seconds.

    `time.thread_time()` counts CPU time of this thread only (user and system), so the
    SQLite checkpoint thread and other processes on the machine do not count.
    """

    def __init__(self, window: float = 0.05) -> None:
        self.window = window
        self._wall = time.monotonic()
        self._cpu = time.thread_time()
        self.utilisation = 0.0

    def update(self, now: float) -> float:
        """The utilisation of the last complete window (recomputed once per window)."""
        if now - self._wall >= self.window:
            cpu = time.thread_time()
            self.utilisation = (cpu - self._cpu) / (now - self._wall)
            self._wall, self._cpu = now, cpu
        return self.utilisation
