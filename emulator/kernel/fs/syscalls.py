"""File system calls over the VFS (fs/open.c, fs/read_write.c, fs/stat.c, fs/readdir.c,
fs/fcntl.c, fs/ioctl.c): open/openat, read/write and their vector forms, lseek/_llseek,
the stat64 family, getdents64, ioctl, dup*, fcntl64, readlink, access, getcwd/chdir.

They replace the console-only write of emulator/kernel/syscalls.py once imported. struct
stat64 is packed per architecture: ARM EABI aligns 64-bit members to 8 (104 bytes), i386
packs them to 4 (96 bytes).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emulator.kernel.errno import EAGAIN, EBADF, EFAULT, EINVAL, ENOENT, ENOTDIR
from emulator.kernel.fs import vfs
from emulator.kernel.fs.char_dev import new_encode_dev
from emulator.kernel.fs.fcntl import AT_FDCWD, O_CLOEXEC, O_NONBLOCK, O_RDWR
from emulator.kernel.fs.file_table import FdTable
from emulator.kernel.fs.pipe import create_pipe, pipe_of
from emulator.kernel.process import processes
from emulator.kernel.syscalls import (
    RESTART,
    Efault,
    copy_from_user,
    copy_to_user,
    strncpy_from_user,
    syscall,
)

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.fs.inode import Dentry, File, Kstat
    from emulator.kernel.process import Task

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH = 0x100, 0x1000
FD_CLOEXEC = 1


def files(task: Task) -> FdTable:
    """The task's descriptor table, created with the console on 0, 1 and 2 (as init's)."""
    table: FdTable | None = getattr(task, "files", None)
    if table is None:
        table = FdTable()
        for _ in range(3):
            f = vfs.vfs_open("/dev/console", O_RDWR)
            if not isinstance(f, int):
                table.install(f)
        task.files = table  # type: ignore[attr-defined]
    return table


def _fd(a: int) -> int:
    return a - (1 << 32) if a & 0x8000_0000 else a


def _file(task: Task, fd: int) -> File | None:
    return files(task).fget(_fd(fd))


def _path(k: Kernel, addr: int) -> str:
    return strncpy_from_user(k, addr).decode(errors="surrogateescape")


def _dir(task: Task, dirfd: int) -> Dentry | None | int:
    dirfd = _fd(dirfd)
    if dirfd == AT_FDCWD:
        return getattr(task, "cwd", None)
    f = files(task).fget(dirfd)
    if f is None:
        return -EBADF
    return f.f_path


@syscall("openat")
def sys_openat(k: Kernel, task: Task, a: list[int]) -> int:
    cwd = _dir(task, a[0])
    if isinstance(cwd, int):
        return cwd
    f = vfs.vfs_open(_path(k, a[1]), a[2], a[3] & 0o7777, cwd=cwd)
    if isinstance(f, int):
        return f
    return files(task).install(f, a[2] & O_CLOEXEC)


@syscall("open")
def sys_open(k: Kernel, task: Task, a: list[int]) -> int:
    return sys_openat(k, task, [AT_FDCWD & 0xFFFF_FFFF, a[0], a[1], a[2]])


@syscall("close")
def sys_close(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    ret = files(task).close_fd(_fd(a[0]))
    if f is not None:
        _wake_pipe(k, f)  # the other end may now see end of file or EPIPE
    return ret


def close_files_on_exit(k: Kernel, table: FdTable) -> None:
    """exit_files(): close everything, waking tasks asleep on pipes that close."""
    ends = list(table.fd.values())
    table.close_all()
    for f in ends:
        _wake_pipe(k, f)


def _sleep_on_pipe(k: Kernel, task: Task, f: File) -> object | None:
    """A blocking pipe end that cannot move: the task sleeps until the other end does."""
    pipe = pipe_of(f)
    if pipe is None or f.f_flags & O_NONBLOCK:
        return None
    pipe.waiting.append(task)
    processes(k).block(task)
    return RESTART


def _wake_pipe(k: Kernel, f: File) -> None:
    pipe = pipe_of(f)
    if pipe is not None and pipe.waiting:
        pm = processes(k)
        for t in pipe.waiting:
            if t.state == "waiting":  # type: ignore[attr-defined]
                t.state = "runnable"  # type: ignore[attr-defined]
                pm.runqueue.append(t)  # type: ignore[arg-type]
        pipe.waiting.clear()


@syscall("read")
def sys_read(k: Kernel, task: Task, a: list[int]) -> int | object:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    data = vfs.vfs_read(f, a[2])
    if data == -EAGAIN:
        return _sleep_on_pipe(k, task, f) or data
    if isinstance(data, int):
        return data
    copy_to_user(k, a[1], data)
    _wake_pipe(k, f)
    return len(data)


@syscall("write")
def sys_write(k: Kernel, task: Task, a: list[int]) -> int | object:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    n = vfs.vfs_write(f, copy_from_user(k, a[1], a[2]))
    if n == -EAGAIN:
        return _sleep_on_pipe(k, task, f) or n
    _wake_pipe(k, f)
    return n


@syscall("pipe2")
def sys_pipe2(k: Kernel, task: Task, a: list[int]) -> int:
    table = files(task)
    rd, wr = create_pipe(len(processes(k).tasks) * 1000 + len(table.fd) + 1)
    fds = (table.install(rd, a[1] & O_CLOEXEC), table.install(wr, a[1] & O_CLOEXEC))
    copy_to_user(k, a[0], struct.pack("<ii", *fds))
    return 0


@syscall("pipe")
def sys_pipe(k: Kernel, task: Task, a: list[int]) -> int:
    return sys_pipe2(k, task, [a[0], 0])


def _iov(k: Kernel, iov: int, cnt: int) -> list[tuple[int, int]]:
    if cnt > 1024:
        raise ValueError
    return [struct.unpack("<II", copy_from_user(k, iov + 8 * i, 8)) for i in range(cnt)]


@syscall("writev")
def sys_writev(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    try:
        vecs = _iov(k, a[1], a[2])
    except ValueError:
        return -EINVAL
    data = b"".join(copy_from_user(k, base, n) for base, n in vecs if n)
    return vfs.vfs_write(f, data) if data else 0


@syscall("readv")
def sys_readv(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    try:
        vecs = _iov(k, a[1], a[2])
    except ValueError:
        return -EINVAL
    total = 0
    for base, n in vecs:
        if not n:
            continue
        data = vfs.vfs_read(f, n)
        if isinstance(data, int):
            return data if total == 0 else total
        copy_to_user(k, base, data)
        total += len(data)
        if len(data) < n:
            break
    return total


@syscall("lseek")
def sys_lseek(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    off = a[1] - (1 << 32) if a[1] & 0x8000_0000 else a[1]
    return vfs.vfs_llseek(f, off, a[2])


@syscall("_llseek")
def sys_llseek(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    off = (a[1] << 32) | a[2]
    if off >= 1 << 63:
        off -= 1 << 64
    pos = vfs.vfs_llseek(f, off, a[4])
    if pos < 0:
        return pos
    copy_to_user(k, a[3], struct.pack("<q", pos))
    return 0


#: struct stat64: ARM EABI aligns the 64-bit members to 8 (104 bytes), i386 packs them (96)
STAT64_FORMAT = {"armv7": "<Q4xIIIIIQ4x4xqI4xQ6IQ", "x86": "<Q4xIIIIIQ4xqIQ6IQ"}


def _pack_stat64(k: Kernel, st: Kstat) -> bytes:
    return struct.pack(
        STAT64_FORMAT[k.machine.board.arch],
        new_encode_dev(st.dev),
        st.ino & 0xFFFF_FFFF,
        st.mode,
        st.nlink,
        st.uid,
        st.gid,
        new_encode_dev(st.rdev),
        st.size,
        st.blksize,
        st.blocks,
        *st.atime,
        *st.mtime,
        *st.ctime,
        st.ino,
    )


def _stat_out(k: Kernel, st: Kstat | int, buf: int) -> int:
    if isinstance(st, int):
        return st
    copy_to_user(k, buf, _pack_stat64(k, st))
    return 0


@syscall("fstat64")
def sys_fstat64(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    return _stat_out(k, vfs.vfs_fstat(f), a[1])


@syscall("stat64")
def sys_stat64(k: Kernel, task: Task, a: list[int]) -> int:
    return _stat_out(k, vfs.vfs_stat(_path(k, a[0]), cwd=getattr(task, "cwd", None)), a[1])


@syscall("lstat64")
def sys_lstat64(k: Kernel, task: Task, a: list[int]) -> int:
    return _stat_out(k, vfs.vfs_lstat(_path(k, a[0]), cwd=getattr(task, "cwd", None)), a[1])


@syscall("fstatat64")
def sys_fstatat64(k: Kernel, task: Task, a: list[int]) -> int:
    path = _path(k, a[1])
    if not path and a[3] & AT_EMPTY_PATH:
        return sys_fstat64(k, task, [a[0], a[2]])
    cwd = _dir(task, a[0])
    if isinstance(cwd, int):
        return cwd
    stat = vfs.vfs_lstat if a[3] & AT_SYMLINK_NOFOLLOW else vfs.vfs_stat
    return _stat_out(k, stat(path, cwd=cwd), a[2])


@syscall("getdents64")
def sys_getdents64(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    data = vfs.vfs_getdents64(f, a[2])
    if isinstance(data, int):
        return data
    copy_to_user(k, a[1], data)
    return len(data)


@syscall("ioctl")
def sys_ioctl(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    ret = vfs.vfs_ioctl(f, a[1], a[2])
    if isinstance(ret, tuple):
        ret, out = ret
        copy_to_user(k, a[2], out)
    return ret


@syscall("dup")
def sys_dup(k: Kernel, task: Task, a: list[int]) -> int:
    return files(task).dup(_fd(a[0]))


@syscall("dup2")
def sys_dup2(k: Kernel, task: Task, a: list[int]) -> int:
    return files(task).dup2(_fd(a[0]), _fd(a[1]))


@syscall("dup3")
def sys_dup3(k: Kernel, task: Task, a: list[int]) -> int:
    return files(task).dup3(_fd(a[0]), _fd(a[1]), a[2])


@syscall("fcntl64")
@syscall("fcntl")
def sys_fcntl64(k: Kernel, task: Task, a: list[int]) -> int:
    table = files(task)
    fd, cmd, arg = _fd(a[0]), a[1], a[2]
    f = table.fget(fd)
    if f is None:
        return -EBADF
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        return table.f_dupfd(fd, arg, O_CLOEXEC if cmd == F_DUPFD_CLOEXEC else 0)
    if cmd == F_GETFD:
        return FD_CLOEXEC if table.get_close_on_exec(fd) else 0
    if cmd == F_SETFD:
        table.set_close_on_exec(fd, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return f.f_flags
    if cmd == F_SETFL:
        f.f_flags = (f.f_flags & ~0o4000) | (arg & 0o4000)  # O_NONBLOCK
        return 0
    return -EINVAL


@syscall("readlink")
def sys_readlink(k: Kernel, task: Task, a: list[int]) -> int:
    return _readlink(k, task, _path(k, a[0]), a[1], a[2], getattr(task, "cwd", None))


@syscall("readlinkat")
def sys_readlinkat(k: Kernel, task: Task, a: list[int]) -> int:
    cwd = _dir(task, a[0])
    if isinstance(cwd, int):
        return cwd
    return _readlink(k, task, _path(k, a[1]), a[2], a[3], cwd)


def _readlink(k: Kernel, task: Task, path: str, buf: int, size: int, cwd: Dentry | None) -> int:
    if path in ("/proc/self/exe", f"/proc/{task.pid}/exe"):
        target: str | int = task.exe
    else:
        target = vfs.vfs_readlink(path, cwd=cwd)
    if isinstance(target, int):
        return target
    data = target.encode()[:size]
    copy_to_user(k, buf, data)
    return len(data)


@syscall("access")
def sys_access(k: Kernel, task: Task, a: list[int]) -> int:
    st = vfs.vfs_stat(_path(k, a[0]), cwd=getattr(task, "cwd", None))
    return st if isinstance(st, int) else 0


@syscall("faccessat")
def sys_faccessat(k: Kernel, task: Task, a: list[int]) -> int:
    cwd = _dir(task, a[0])
    if isinstance(cwd, int):
        return cwd
    st = vfs.vfs_stat(_path(k, a[1]), cwd=cwd)
    return st if isinstance(st, int) else 0


@syscall("getcwd")
def sys_getcwd(k: Kernel, task: Task, a: list[int]) -> int:
    path = getattr(task, "cwd_path", "/").encode() + b"\0"
    if len(path) > a[1]:
        return -34  # ERANGE
    copy_to_user(k, a[0], path)
    return len(path)


@syscall("chdir")
def sys_chdir(k: Kernel, task: Task, a: list[int]) -> int:
    path = _path(k, a[0])
    st = vfs.vfs_stat(path, cwd=getattr(task, "cwd", None))
    if isinstance(st, int):
        return st
    if st.mode & 0o170000 != 0o040000:
        return -ENOTDIR
    d = vfs.path_lookup(path, cwd=getattr(task, "cwd", None))
    if isinstance(d, int):
        return -ENOENT
    task.cwd = d  # type: ignore[attr-defined]
    task.cwd_path = vfs.d_path(d)  # type: ignore[attr-defined]
    return 0


__all__ = ["files", "EFAULT", "Efault"]
