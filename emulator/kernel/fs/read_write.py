"""Positional and vectored I/O and sendfile (fs/read_write.c): pread64/pwrite64,
readv/writev, preadv/pwritev(2), sendfile/sendfile64.

64-bit file offsets arrive as two 32-bit registers, low word first. ARM EABI passes a 64-bit
argument in an even/odd register pair, so pread64/pwrite64 (fd, buf, count, pad, lo, hi)
and ftruncate64 (fd, pad, lo, hi) skip a register there; i386 packs them (fd, buf, count,
lo, hi). preadv/pwritev take the offset as two `unsigned long`s (pos_l, pos_h) on both.
An iovec is {void *iov_base; size_t iov_len} (8 bytes); more than UIO_MAXIOV (1024) entries
or a length above SSIZE_MAX is -EINVAL, a bad array -EFAULT.

A blocking descriptor with nothing to read (or no room to write) puts the task to sleep, as
read(2) and write(2) do (`wait_on_file`); a vectored call that already moved data returns
the count so far instead.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emulator.kernel.errno import EAGAIN, EBADF, EFAULT, EINVAL, EOVERFLOW, ESPIPE
from emulator.kernel.fs import vfs
from emulator.kernel.fs.fcntl import O_APPEND, O_NONBLOCK
from emulator.kernel.fs.inode import FMODE_LSEEK, FMODE_PREAD, FMODE_READ, FMODE_WRITE
from emulator.kernel.fs.pipe import pipe_of
from emulator.kernel.fs.poll import POLLIN, POLLOUT
from emulator.kernel.fs.syscalls import (
    MAX_RW_COUNT,
    _file,
    pipe_write_all,
    user_buffer_extent,
    wait_on_file,
)
from emulator.kernel.syscalls import copy_from_user, copy_to_user, syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.fs.inode import File
    from emulator.kernel.process import Task

UIO_MAXIOV = 1024
MAX_NON_LFS = 0x7FFF_FFFF
EOPNOTSUPP = 95
RWF_SUPPORTED = 0x1F  # RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND


def arg64(k: Kernel, a: list[int], arm_lo: int, x86_lo: int) -> int:
    """A signed 64-bit argument from its register pair (ARM EABI: even-aligned)."""
    i = arm_lo if k.machine.board.arch == "armv7" else x86_lo
    v = a[i] | a[i + 1] << 32
    return v - (1 << 64) if v >> 63 else v


def _iov(k: Kernel, iov: int, cnt: int) -> list[tuple[int, int]] | int:
    """import_iovec(): the (base, len) pairs, or -EINVAL (raises Efault on a bad array)."""
    if cnt > UIO_MAXIOV:
        return -EINVAL
    raw = copy_from_user(k, iov, 8 * cnt) if cnt else b""
    vecs = [struct.unpack_from("<II", raw, 8 * i) for i in range(cnt)]
    if any(n > 0x7FFF_FFFF for _, n in vecs) or sum(n for _, n in vecs) > 0x7FFF_FFFF:
        return -EINVAL
    return vecs


def do_readv(
    k: Kernel, task: Task, f: File, vecs: list[tuple[int, int]], pos: int | None
) -> int | object:
    total = 0
    for base, want in vecs:
        if not want:
            continue
        n = user_buffer_extent(task, base, want)
        if not n:
            return total if total else -EFAULT
        data = vfs.vfs_read(f, n, None if pos is None else pos + total)
        if isinstance(data, int):
            if total:
                return total
            return wait_on_file(k, task, f, POLLIN) if data == -EAGAIN else data
        copy_to_user(k, base, data)
        total += len(data)
        if len(data) < want:
            break
    return total


def do_writev(
    k: Kernel,
    task: Task,
    f: File,
    vecs: list[tuple[int, int]],
    pos: int | None,
    key: tuple[int, int, int] | None = None,
) -> int | object:
    data = b"".join(copy_from_user(k, base, n) for base, n in vecs if n)
    if not data:
        return 0 if f.f_mode & FMODE_WRITE else -EBADF
    if key is not None and pipe_of(f) is not None and not f.f_flags & O_NONBLOCK:
        return pipe_write_all(k, task, f, key, data)
    n = vfs.vfs_write(f, data, pos)
    return wait_on_file(k, task, f, POLLOUT) if n == -EAGAIN else n


def _check_pos(f: File, pos: int) -> int:
    if pos < 0:
        return -EINVAL
    return 0 if f.f_mode & FMODE_PREAD else -ESPIPE


def do_preadv(
    k: Kernel,
    task: Task,
    a: list[int],
    pos: int | None,
    write: bool,
    key: tuple[int, int, int] | None = None,
) -> int | object:
    """do_readv/do_writev (pos None: at the file position) and do_preadv/do_pwritev()
    (fs/read_write.c) on (fd, iov, iovcnt)."""
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    if pos is not None:
        err = _check_pos(f, pos)
        if err:
            return err
    vecs = _iov(k, a[1], a[2])
    if isinstance(vecs, int):
        return vecs
    if write:
        return do_writev(k, task, f, vecs, pos, key)
    return do_readv(k, task, f, vecs, pos)


@syscall("readv")
def sys_readv(k: Kernel, task: Task, a: list[int]) -> int | object:
    return do_preadv(k, task, a, None, False)


@syscall("writev")
def sys_writev(k: Kernel, task: Task, a: list[int]) -> int | object:
    key = (a[0], a[1], a[2] | 1 << 32)  # (not the same call as a write(2) of these words)
    return do_preadv(k, task, a, None, True, key)


def _pread(k: Kernel, task: Task, a: list[int], write: bool) -> int | object:
    """ksys_pread64/ksys_pwrite64() (fs/read_write.c): (fd, buf, count, 64-bit pos)."""
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    pos = arg64(k, a, 4, 3)
    err = _check_pos(f, pos)
    return err or (do_writev if write else do_readv)(k, task, f, [(a[1], a[2])], pos)


@syscall("pread64")
def sys_pread64(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _pread(k, task, a, False)


@syscall("pwrite64")
def sys_pwrite64(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _pread(k, task, a, True)


def _preadv2(k: Kernel, task: Task, a: list[int], write: bool, flags: int) -> int | object:
    """preadv2/pwritev2: RWF_* flags (accepted, no effect), and offset -1 = file position."""
    if flags & ~RWF_SUPPORTED:
        return -EOPNOTSUPP
    pos = arg64(k, a, 3, 3)
    return do_preadv(k, task, a, None if pos == -1 else pos, write)


@syscall("preadv")
def sys_preadv(k: Kernel, task: Task, a: list[int]) -> int | object:
    return do_preadv(k, task, a, arg64(k, a, 3, 3), False)


@syscall("pwritev")
def sys_pwritev(k: Kernel, task: Task, a: list[int]) -> int | object:
    return do_preadv(k, task, a, arg64(k, a, 3, 3), True)


@syscall("preadv2")
def sys_preadv2(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _preadv2(k, task, a, False, a[5])


@syscall("pwritev2")
def sys_pwritev2(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _preadv2(k, task, a, True, a[5])


# -- sendfile -----------------------------------------------------------------------------------


def do_sendfile(
    k: Kernel, task: Task, out_fd: int, in_fd: int, ppos: int, count: int, lfs: bool
) -> int | object:
    """fs/read_write.c do_sendfile(): copy from in_fd (at *ppos, or its file position) to
    out_fd; *ppos is advanced (a 64-bit loff_t for sendfile64, a 32-bit off_t for sendfile)."""
    fin, fout = _file(task, in_fd), _file(task, out_fd)
    if fin is None or not fin.f_mode & FMODE_READ:
        return -EBADF
    if fout is None or not fout.f_mode & FMODE_WRITE:
        return -EBADF
    fmt = "<q" if lfs else "<i"
    if ppos:
        if not fin.f_mode & FMODE_PREAD:
            return -ESPIPE
        (pos,) = struct.unpack(fmt, copy_from_user(k, ppos, struct.calcsize(fmt)))
        if pos < 0:
            return -EINVAL
    else:
        pos = fin.f_pos
    if fout.f_flags & O_APPEND:
        return -EINVAL
    count = min(count, MAX_RW_COUNT)
    if not lfs and pos + count > MAX_NON_LFS:
        if pos >= MAX_NON_LFS:
            return -EOVERFLOW
        count = MAX_NON_LFS - pos
    seekable = bool(fin.f_mode & FMODE_LSEEK) and fin.f_op.llseek is not None
    chunk = 4096 if pipe_of(fout) is not None else 1 << 16
    total = 0
    while total < count:
        if not vfs.vfs_poll(fout) & POLLOUT:
            if total:
                break
            return wait_on_file(k, task, fout, POLLOUT)
        data = vfs.vfs_read(fin, min(chunk, count - total), pos if seekable else None)
        if isinstance(data, int):
            if total:
                break
            return wait_on_file(k, task, fin, POLLIN) if data == -EAGAIN else data
        if not data:
            break
        n = vfs.vfs_write(fout, data)
        if n < 0:
            if total:
                break
            return n
        total += n
        pos += n
        if n < len(data):
            break
    if ppos:
        copy_to_user(k, ppos, struct.pack(fmt, pos))
    elif seekable:
        fin.f_pos = pos
    return total


@syscall("sendfile64")
def sys_sendfile64(k: Kernel, task: Task, a: list[int]) -> int | object:
    return do_sendfile(k, task, a[0], a[1], a[2], a[3], True)


@syscall("sendfile")
def sys_sendfile(k: Kernel, task: Task, a: list[int]) -> int | object:
    return do_sendfile(k, task, a[0], a[1], a[2], a[3], False)
