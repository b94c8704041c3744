"""Process groups and sessions (kernel/sys.c): setpgid, getpgid, getpgrp, setsid, getsid.

Enough for a shell's job control bookkeeping: a group or session id is the pid of its
leader; fork inherits both (signal.copy_sighand), kill(0 / -pgrp) reaches a group, and the
console's foreground group is set with TIOCSPGRP (drivers/tty/tty_jobctrl.py). pid 1 starts
as the leader of group 1 and session 1, as an init that called setsid() would be, and the
console is its controlling terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.kernel.errno import EACCES, EINVAL, EPERM, ESRCH
from emulator.kernel.process import processes
from emulator.kernel.syscalls import syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task


def _pid(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v


def find_task(k: Kernel, task: Task, pid: int) -> Task | None:
    """find_task_by_vpid(), with 0 meaning the caller."""
    if pid == 0:
        return task
    return processes(k).tasks.get(pid)


def pgrp_exists(k: Kernel, pgrp: int, session: int | None = None) -> bool:
    return any(
        t.pgrp == pgrp and (session is None or t.session == session) and t.state != "zombie"
        for t in processes(k).tasks.values()
    )


@syscall("setpgid")
def sys_setpgid(k: Kernel, task: Task, a: list[int]) -> int:
    """Move the caller or one of its children into a group of the same session (a new
    one when pgid is the target's own pid)."""
    pid, pgid = _pid(a[0]), _pid(a[1])
    if pgid < 0:
        return -EINVAL
    p = find_task(k, task, pid)
    if p is None:
        return -ESRCH
    if p is not task:
        if p.parent is not task:
            return -ESRCH
        if p.session != task.session:
            return -EPERM
        if p.did_exec:
            return -EACCES
    if pgid == 0:
        pgid = p.pid
    if p.session == p.pid:  # a session leader stays in its group
        return -EPERM
    if pgid != p.pid and not pgrp_exists(k, pgid, task.session):
        return -EPERM
    p.pgrp = pgid
    return 0


@syscall("getpgid")
def sys_getpgid(k: Kernel, task: Task, a: list[int]) -> int:
    p = find_task(k, task, _pid(a[0]))
    return -ESRCH if p is None else p.pgrp


@syscall("getpgrp")
def sys_getpgrp(k: Kernel, task: Task, a: list[int]) -> int:
    return task.pgrp


@syscall("getsid")
def sys_getsid(k: Kernel, task: Task, a: list[int]) -> int:
    p = find_task(k, task, _pid(a[0]))
    return -ESRCH if p is None else p.session


@syscall("setsid")
def sys_setsid(k: Kernel, task: Task, a: list[int]) -> int:
    """A new session and group led by the caller, without a controlling terminal; -EPERM
    for a group leader (its group id is taken)."""
    if pgrp_exists(k, task.pid):
        return -EPERM
    task.session = task.pgrp = task.pid
    return task.pid
