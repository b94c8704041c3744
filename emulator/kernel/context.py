"""Execution context: atomic sections, interrupt handlers, and the might_sleep() check.

Linux tracks whether code may sleep in preempt_count (held spinlocks, hardirq, softirq) and
the IRQ-disabled state; a sleeping call in atomic context (GFP_KERNEL allocation, vmalloc,
kmap, mutex_lock) triggers __might_sleep()'s report (kernel/sched/core.c):

    BUG: sleeping function called from invalid context at mm/slab.h:NNN
    in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 0, name: swapper/0
    preempt_count: 1, expected: 0

soclab prints the Linux function that would have slept in place of the C file and line, and
the Python caller (the driver) that called it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

HARDIRQ_OFFSET = 0x10000
SOFTIRQ_OFFSET = 0x100


class ExecContext:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.preempt_count = 0
        self.irqs_disabled = False

    def in_atomic(self) -> bool:
        return self.preempt_count != 0 or self.irqs_disabled

    def in_interrupt(self) -> bool:
        return bool(self.preempt_count & (HARDIRQ_OFFSET * 0xF | SOFTIRQ_OFFSET * 0xFF))

    def in_irq(self) -> bool:
        return bool(self.preempt_count & (HARDIRQ_OFFSET * 0xF))

    @contextmanager
    def hardirq(self) -> Iterator[None]:
        """Run an interrupt handler: atomic, interrupts off (irq_enter/irq_exit)."""
        saved = self.irqs_disabled
        self.preempt_count += HARDIRQ_OFFSET
        self.irqs_disabled = True
        try:
            yield
        finally:
            self.preempt_count -= HARDIRQ_OFFSET
            self.irqs_disabled = saved

    def might_sleep(self, function: str) -> None:
        """__might_sleep(): report a sleeping call from atomic context."""
        if not self.in_atomic():
            return
        self.kernel.bug(
            f"sleeping function called from invalid context at {function}",
            f"in_atomic(): {int(self.preempt_count != 0)}, irqs_disabled(): "
            f"{int(self.irqs_disabled)}, non_block: 0, pid: 0, name: swapper/0\n"
            f"preempt_count: {self.preempt_count:x}, expected: 0",
        )


class spinlock_t:  # noqa: N801 - Linux's type name
    """A spinlock: holding one makes the context atomic. Recursion is reported (deadlock)."""

    def __init__(self, name: str = "lock") -> None:
        self.name = name
        self.held = False
        self._saved_irqs: list[bool] = []


def _ctx() -> ExecContext:
    from emulator.kernel.core import current_kernel

    return current_kernel().context


def spin_lock_init(lock: spinlock_t) -> None:
    lock.held = False


def spin_lock(lock: spinlock_t) -> None:
    ctx = _ctx()
    if lock.held:
        ctx.kernel.bug(f"spinlock recursion on CPU#0, lock {lock.name}")
        return
    lock.held = True
    ctx.preempt_count += 1


def spin_unlock(lock: spinlock_t) -> None:
    ctx = _ctx()
    if not lock.held:
        ctx.kernel.bug(f"spinlock already unlocked on CPU#0, lock {lock.name}")
        return
    lock.held = False
    ctx.preempt_count -= 1


def spin_lock_irqsave(lock: spinlock_t) -> int:
    """Returns the saved flags (Linux's out-parameter): pass them to spin_unlock_irqrestore."""
    ctx = _ctx()
    flags = int(ctx.irqs_disabled)
    ctx.irqs_disabled = True
    spin_lock(lock)
    return flags


def spin_unlock_irqrestore(lock: spinlock_t, flags: int) -> None:
    spin_unlock(lock)
    _ctx().irqs_disabled = bool(flags)


def local_irq_save() -> int:
    ctx = _ctx()
    flags = int(ctx.irqs_disabled)
    ctx.irqs_disabled = True
    return flags


def local_irq_restore(flags: int) -> None:
    _ctx().irqs_disabled = bool(flags)


def in_atomic() -> bool:
    return _ctx().in_atomic()


def in_interrupt() -> bool:
    return _ctx().in_interrupt()


def might_sleep(function: str = "might_sleep") -> None:
    _ctx().might_sleep(function)


class mutex:  # noqa: N801 - struct mutex
    def __init__(self, name: str = "mutex") -> None:
        self.name = name
        self.locked = False


def mutex_lock(lock: mutex) -> None:
    ctx = _ctx()
    ctx.might_sleep("mutex_lock (kernel/locking/mutex.c)")
    if lock.locked:
        ctx.kernel.bug(f"deadlock: mutex {lock.name} locked twice (nothing else can unlock it)")
        return
    lock.locked = True


def mutex_unlock(lock: mutex) -> None:
    if not lock.locked:
        _ctx().kernel.bug(f"mutex {lock.name} unlocked while not locked")
        return
    lock.locked = False
