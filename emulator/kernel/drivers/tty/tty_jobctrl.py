"""Job control ioctls of a tty (drivers/tty/tty_jobctrl.c): TIOCGPGRP, TIOCSPGRP,
TIOCSCTTY and TIOCGSID.

The console is the controlling terminal of session 1 at boot with process group 1 in the
foreground (pid 1 is the program, as if an init had set it up). Not modelled: background
groups reading or writing the terminal (SIGTTIN/SIGTTOU), hangup, TIOCNOTTY.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from emulator.kernel.core import current_kernel
from emulator.kernel.errno import EINVAL, ENOTTY, EPERM
from emulator.kernel.fs.inode import File, IoctlResult

TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID = 0x540E, 0x540F, 0x5410, 0x5429
JOBCTRL_IOCTLS = (TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID)


@dataclass
class TtyJob:
    """tty_struct's session and pgrp (the foreground process group)."""

    session: int = 1
    pgrp: int = 1


def _job() -> TtyJob:
    k = current_kernel()
    job = k.subsystems.get("tty_jobctrl")
    if not isinstance(job, TtyJob):
        job = k.subsystems["tty_jobctrl"] = TtyJob()
    return job


def tty_jobctrl_ioctl(file: File, cmd: int, arg: int) -> IoctlResult:
    from emulator.kernel.pgrp import pgrp_exists
    from emulator.kernel.process import processes
    from emulator.kernel.syscalls import copy_from_user

    k = current_kernel()
    task = processes(k).current
    if task is None:  # no process: nobody's controlling terminal
        return -ENOTTY
    job = _job()
    if cmd == TIOCSCTTY:
        if job.session == task.session:
            return 0
        if task.session != task.pid or (job.session and arg != 1):
            return -EPERM  # not a session leader, or the tty has a session (no steal)
        job.session, job.pgrp = task.session, task.pgrp
        return 0
    if job.session != task.session:  # not the caller's controlling terminal
        return -ENOTTY
    if cmd == TIOCGPGRP:
        return 0, struct.pack("<i", job.pgrp)
    if cmd == TIOCGSID:
        return 0, struct.pack("<i", job.session)
    (pgrp,) = struct.unpack("<i", copy_from_user(k, arg, 4))  # TIOCSPGRP
    if pgrp < 0:
        return -EINVAL
    if not pgrp_exists(k, pgrp, task.session):
        return -EPERM
    job.pgrp = pgrp
    return 0
