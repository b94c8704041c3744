"""Pipes (fs/pipe.c): a 64 KiB kernel buffer between two open files.

A reader finding the pipe empty while writers remain, or a writer finding it full while
readers remain, blocks: the file's read/write answer -EAGAIN, and the system-call layer puts a
blocking caller to sleep on the wait queue `pipe_poll` registers (rd_wait for readers, wr_wait
for writers) and re-runs the call when the other end moves (each side wakes the other's
queue, and release wakes both). An empty pipe with no writers reads as end of file (poll:
EPOLLHUP), and a write with no readers is -EPIPE (poll: EPOLLERR) with SIGPIPE to the writer.

A write of at most PIPE_BUF (4096) bytes is atomic: it waits for room for all of it. The pipe
polls writable while a page-sized slot is free, as Linux's 16 one-page slots do.

A blocking write(2) of more than the free space writes what fits and sleeps for the rest
(fs/syscalls.py `pipe_write_all`); the file's write itself returns the short count, which
is what sendfile, writev and O_NONBLOCK writers see.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from emulator.kernel.errno import EAGAIN, ENOIOCTLCMD
from emulator.kernel.fs.inode import (
    EPOLLERR,
    EPOLLHUP,
    EPOLLIN,
    EPOLLOUT,
    EPOLLRDNORM,
    EPOLLWRNORM,
    FMODE_READ,
    FMODE_WRITE,
    S_IFIFO,
    Dentry,
    File,
    FileOperations,
    Inode,
    IoctlResult,
)
from emulator.kernel.fs.poll import PollTable, poll_wait
from emulator.kernel.wait import WaitQueueHead, wake_up

PIPE_BUF_SIZE = 16 * 4096
PIPE_BUF = 4096
FIONREAD = 0x541B  # writes up to this size are atomic (include/uapi/linux/limits.h)
EPIPE = 32


@dataclass
class PipeInodeInfo:
    buf: bytearray = field(default_factory=bytearray)
    readers: int = 1
    writers: int = 1
    rd_wait: WaitQueueHead = field(default_factory=lambda: WaitQueueHead("pipe rd_wait"))
    wr_wait: WaitQueueHead = field(default_factory=lambda: WaitQueueHead("pipe wr_wait"))


def _read(file: File, count: int, pos: int) -> bytes | int:
    pipe: PipeInodeInfo = file.private_data
    if not pipe.buf:
        return b"" if pipe.writers == 0 else -EAGAIN
    data = bytes(pipe.buf[:count])
    del pipe.buf[: len(data)]
    wake_up(pipe.wr_wait)
    return data


def _write(file: File, data: bytes, pos: int) -> int:
    pipe: PipeInodeInfo = file.private_data
    if pipe.readers == 0:
        from emulator.kernel.signal import SIGPIPE, send_sig_current

        send_sig_current(SIGPIPE)
        return -EPIPE
    room = PIPE_BUF_SIZE - len(pipe.buf)
    if room <= 0 or (len(data) <= PIPE_BUF and room < len(data)):
        return -EAGAIN  # writes of at most PIPE_BUF bytes are atomic
    pipe.buf += data[:room]
    if data:
        wake_up(pipe.rd_wait)
    return min(len(data), room)


def _release(inode: Inode, file: File) -> int:
    pipe: PipeInodeInfo = file.private_data
    if file.f_mode & FMODE_READ:
        pipe.readers -= 1
    if file.f_mode & FMODE_WRITE:
        pipe.writers -= 1
    wake_up(pipe.rd_wait)
    wake_up(pipe.wr_wait)
    return 0


def pipe_ioctl(file: File, cmd: int, arg: int) -> IoctlResult:
    """FIONREAD: the bytes waiting in the pipe."""
    if cmd == FIONREAD:
        return 0, struct.pack("<i", len(file.private_data.buf))
    return -ENOIOCTLCMD


def fifo_open(inode: Inode, file: File) -> int:
    """fs/pipe.c fifo_open(), for a pipe reopened through /proc/<pid>/fd/<n>: the new file
    is one more reader and/or writer of the same pipe."""
    pipe: PipeInodeInfo = inode.i_private
    file.private_data = pipe
    if file.f_mode & FMODE_READ:
        pipe.readers += 1
    if file.f_mode & FMODE_WRITE:
        pipe.writers += 1
    return 0


def pipe_poll(file: File, wait: PollTable | None) -> int:
    """fs/pipe.c pipe_poll()."""
    pipe: PipeInodeInfo = file.private_data
    if file.f_mode & FMODE_READ:
        poll_wait(file, pipe.rd_wait, wait)
    if file.f_mode & FMODE_WRITE:
        poll_wait(file, pipe.wr_wait, wait)
    mask = 0
    if file.f_mode & FMODE_READ:
        if pipe.buf:
            mask |= EPOLLIN | EPOLLRDNORM
        if pipe.writers == 0:
            mask |= EPOLLHUP
    if file.f_mode & FMODE_WRITE:
        if PIPE_BUF_SIZE - len(pipe.buf) >= PIPE_BUF:  # a free page-sized slot
            mask |= EPOLLOUT | EPOLLWRNORM
        if pipe.readers == 0:
            mask |= EPOLLERR
    return mask


pipefifo_fops = FileOperations(
    owner="pipe",
    read=_read,
    write=_write,
    poll=pipe_poll,
    unlocked_ioctl=pipe_ioctl,
    open=fifo_open,
    release=_release,
)


def create_pipe(ino: int) -> tuple[File, File]:
    """do_pipe2(): the read end and the write end."""
    inode = Inode(ino, S_IFIFO | 0o600, i_sb="pipefs", i_fop=pipefifo_fops)
    dentry = Dentry(f"pipe:[{ino}]", inode, None)
    pipe = PipeInodeInfo()
    inode.i_private = pipe
    rd = File(dentry, inode, pipefifo_fops, 0, FMODE_READ, private_data=pipe)
    wr = File(dentry, inode, pipefifo_fops, 1, FMODE_WRITE, private_data=pipe)
    return rd, wr


def pipe_of(file: File) -> PipeInodeInfo | None:
    return file.private_data if file.f_op is pipefifo_fops else None
