"""Signals (kernel/signal.c): rt_sigaction, rt_sigprocmask, and synchronous delivery of a
fault's signal to a user handler with the architecture's real rt_sigframe, so a handler can
inspect the fault (siginfo's si_addr, the saved registers) and recover through rt_sigreturn.

The frame layouts are the architectures' own (arch/arm/kernel/signal.c struct rt_sigframe,
arch/x86/kernel/signal.c for i386); the arch entry code fills the saved machine context.
Not modelled yet: asynchronous signals from kill()/other processes, sigaltstack stacks,
queued real-time signals, the blocked mask's effect on synchronous faults.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.kernel.syscalls import Efault, copy_from_user, copy_to_user, syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

SIG_DFL, SIG_IGN = 0, 1
SA_SIGINFO, SA_RESTORER, SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND = (
    0x4,
    0x0400_0000,
    0x0800_0000,
    0x1000_0000,
    0x4000_0000,
    0x8000_0000,
)
SEGV_MAPERR, SEGV_ACCERR = 1, 2
SIGINFO_SIZE = 128


@dataclass
class KSigaction:
    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


def actions(task: Task) -> dict[int, KSigaction]:
    table: dict[int, KSigaction] | None = getattr(task, "sighand", None)
    if table is None:
        table = {}
        task.sighand = table  # type: ignore[attr-defined]
    return table


@syscall("rt_sigaction")
def sys_rt_sigaction(k: Kernel, task: Task, a: list[int]) -> int:
    sig, act, oact = a[0], a[1], a[2]
    if not 1 <= sig <= 64 or sig in (9, 19):  # SIGKILL and SIGSTOP cannot be caught
        return -22
    table = actions(task)
    old = table.get(sig, KSigaction())
    try:
        if oact:
            copy_to_user(
                k, oact, struct.pack("<IIIQ", old.handler, old.flags, old.restorer, old.mask)
            )
        if act:
            handler, flags, restorer, mask = struct.unpack("<IIIQ", copy_from_user(k, act, 20))
            table[sig] = KSigaction(handler, flags, restorer, mask)
    except Efault:
        return -14
    return 0


@syscall("rt_sigprocmask")
def sys_rt_sigprocmask(k: Kernel, task: Task, a: list[int]) -> int:
    how, nset, oset = a[0], a[1], a[2]
    blocked: int = getattr(task, "blocked", 0)
    try:
        if oset:
            copy_to_user(k, oset, struct.pack("<Q", blocked))
        if nset:
            (new,) = struct.unpack("<Q", copy_from_user(k, nset, 8))
            blocked = {0: blocked | new, 1: blocked & ~new, 2: new}.get(how, -1)
            if blocked < 0:
                return -22
            task.blocked = blocked & ~((1 << 8) | (1 << 18))  # type: ignore[attr-defined]
    except Efault:
        return -14
    return 0


@syscall("rt_sigreturn")
def sys_rt_sigreturn(k: Kernel, task: Task, a: list[int]) -> int:
    """Restore the registers and mask a handler's frame saved (the arch reads the frame)."""
    return int(k.arch_entry.rt_sigreturn(k, task))


def siginfo(sig: int, code: int, addr: int) -> bytes:
    """siginfo_t for a fault: si_signo, si_errno, si_code, then si_addr."""
    return struct.pack("<iiiI", sig, 0, code, addr).ljust(SIGINFO_SIZE, b"\0")


def handler_for(task: Task, sig: int) -> KSigaction | None:
    """The user handler that should run for a synchronous `sig`, if any."""
    act = actions(task).get(sig)
    if act is None or act.handler in (SIG_DFL, SIG_IGN):
        return None
    if act.flags & SA_RESETHAND:
        actions(task)[sig] = KSigaction()
    return act
