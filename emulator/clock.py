"""Virtual time: derived from guest instructions executed, never from the host's clock.

now = instructions retired × ns_per_insn + idle time, where idle time is what `wfi`/`hlt` skipped
while the CPU waited for the next event (datasheet §1). Devices schedule callbacks with
`schedule(delay_ns, callback)`; the run loop ends each slice at the next deadline, so events fire
at deterministic points in the instruction stream. Events at the same instant fire in the order
they were scheduled.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class Event:
    when_ns: int
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    def __init__(self, ns_per_insn: int = 10) -> None:
        if ns_per_insn < 1:
            raise ValueError("ns_per_insn must be at least 1")
        self.ns_per_insn = ns_per_insn
        self.idle_ns = 0
        self.insns: Callable[[], int] = lambda: 0
        self._queue: list[Event] = []
        self._seq = itertools.count()
        self.on_reschedule: Callable[[], None] = lambda: None

    def now(self) -> int:
        """Virtual time in nanoseconds."""
        return self.insns() * self.ns_per_insn + self.idle_ns

    def schedule(self, delay_ns: int, callback: Callable[[], None]) -> Event:
        ev = Event(self.now() + max(0, int(delay_ns)), next(self._seq), callback)
        heapq.heappush(self._queue, ev)
        if self._queue[0] is ev:
            self.on_reschedule()
        return ev

    def next_deadline(self) -> int | None:
        while self._queue and self._queue[0].cancelled:
            heapq.heappop(self._queue)
        return self._queue[0].when_ns if self._queue else None

    def run_due(self) -> int:
        """Fire every event whose time has come; returns how many fired."""
        fired = 0
        now = self.now()
        while self._queue and self._queue[0].when_ns <= now:
            ev = heapq.heappop(self._queue)
            if not ev.cancelled:
                ev.callback()
                fired += 1
        return fired

    def skip_to(self, when_ns: int) -> None:
        """Idle until `when_ns` (the CPU waits for an interrupt)."""
        gap = when_ns - self.now()
        if gap > 0:
            self.idle_ns += gap
