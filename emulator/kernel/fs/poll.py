"""The poll table a file's `poll` method receives (include/linux/poll.h, include/uapi/asm-generic
/poll.h).

`f_op.poll(file, pt)` returns the file's ready mask and calls `poll_wait(file, wq, pt)` for
each wait queue whose wake-up could change that mask; with a `PollTable` carrying a task, the
task is put on those queues so that it can sleep until one of them is woken. `pt` is None
when the caller only wants the mask (a non-blocking check); `pt.key` holds the events the
caller is interested in (poll_requested_events()), so a file may skip work nobody asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.kernel.wait import WaitQueueHead, add_wait_queue

if TYPE_CHECKING:
    from emulator.kernel.fs.inode import File
    from emulator.kernel.process import Task

# include/uapi/asm-generic/poll.h (the same values as EPOLL*)
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND = 0x40, 0x80, 0x100, 0x200
ALL_EVENTS = 0xFFFF_FFFF


@dataclass
class PollTable:
    """poll_table: who waits (None: nobody — only the mask is wanted) and for what."""

    task: Task | None = None
    key: int = ALL_EVENTS


def poll_wait(file: File, wq: WaitQueueHead, pt: PollTable | None) -> None:
    """Register the polling task on `wq` (nothing when no one is going to sleep)."""
    if pt is not None and pt.task is not None:
        add_wait_queue(wq, pt.task)


def poll_requested_events(pt: PollTable | None) -> int:
    return pt.key if pt is not None else ALL_EVENTS
