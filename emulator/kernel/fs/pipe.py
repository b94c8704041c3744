"""Pipes (fs/pipe.c): a 64 KiB kernel buffer between two open files.

A reader finding the pipe empty while writers remain, or a writer finding it full while
readers remain, blocks (the file's read/write answer -EAGAIN and `pipe_would_block` tells the
system-call layer to put the task to sleep and re-run the call when the other end moves);
an empty pipe with no writers reads as end of file, and a write with no readers is -EPIPE
(with SIGPIPE to the writer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.kernel.errno import EAGAIN
from emulator.kernel.fs.inode import (
    FMODE_READ,
    FMODE_WRITE,
    S_IFIFO,
    Dentry,
    File,
    FileOperations,
    Inode,
)

PIPE_BUF_SIZE = 16 * 4096
EPIPE = 32


@dataclass
class PipeInodeInfo:
    buf: bytearray = field(default_factory=bytearray)
    readers: int = 1
    writers: int = 1
    waiting: list[object] = field(default_factory=list)  # tasks asleep on this pipe


def _read(file: File, count: int, pos: int) -> bytes | int:
    pipe: PipeInodeInfo = file.private_data
    if not pipe.buf:
        return b"" if pipe.writers == 0 else -EAGAIN
    data = bytes(pipe.buf[:count])
    del pipe.buf[: len(data)]
    return data


def _write(file: File, data: bytes, pos: int) -> int:
    pipe: PipeInodeInfo = file.private_data
    if pipe.readers == 0:
        from emulator.kernel.signal import SIGPIPE, send_sig_current

        send_sig_current(SIGPIPE)
        return -EPIPE
    room = PIPE_BUF_SIZE - len(pipe.buf)
    if room <= 0:
        return -EAGAIN
    pipe.buf += data[:room]
    return min(len(data), room)


def _release(inode: Inode, file: File) -> int:
    pipe: PipeInodeInfo = file.private_data
    if file.f_mode & FMODE_READ:
        pipe.readers -= 1
    if file.f_mode & FMODE_WRITE:
        pipe.writers -= 1
    return 0


pipefifo_fops = FileOperations(owner="pipe", read=_read, write=_write, release=_release)


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
