"""The clock the tool's waits run on (export polls, propagation retries, the sandbox's export
tasks and propagation): the wall clock, which a test may fast-forward so that a wait of
seconds takes none, however loaded the machine is."""

from __future__ import annotations

import threading
import time


class WallClock:
    """Real time: what every run of the tool uses."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def pause(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` unless ``stop`` is set first; True when stopped."""
        return stop.wait(seconds)


# Looked up at every call (never bound as a default), so that a test can swap it.
CLOCK: WallClock = WallClock()


def monotonic() -> float:
    return CLOCK.monotonic()


def wall_time() -> float:
    return CLOCK.time()


def pause(stop: threading.Event, seconds: float) -> bool:
    """Wait ``seconds`` on the clock unless ``stop`` is set first; True when stopped."""
    return CLOCK.pause(stop, seconds)
