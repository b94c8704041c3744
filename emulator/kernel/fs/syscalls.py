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
from emulator.kernel.fs.fcntl import (
    AT_FDCWD,
    O_APPEND,
    O_CLOEXEC,
    O_NOATIME,
    O_NONBLOCK,
    O_RDWR,
    fcntl_flags,
)
from emulator.kernel.fs.file_table import FdTable
from emulator.kernel.fs.inode import S_ISREG, generic_fillattr
from emulator.kernel.fs.pipe import PIPE_BUF_SIZE, create_pipe, pipe_of
from emulator.kernel.fs.poll import POLLERR, POLLHUP, POLLIN, POLLOUT, PollTable
from emulator.kernel.process import processes
from emulator.kernel.syscalls import (
    RESTART,
    Efault,
    copy_from_user,
    copy_to_user,
    strncpy_from_user,
    syscall,
)
from emulator.kernel.wait import (
    finish_wait,
    prepare_to_wait_event,
    schedule_timeout,
    wait_state,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from emulator.kernel.core import Kernel
    from emulator.kernel.fs.inode import Dentry, File, Kstat
    from emulator.kernel.process import Task

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
F_GETPIPE_SZ = 1032
FASYNC = 0o20000
AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH = 0x100, 0x1000
FD_CLOEXEC = 1
MAX_RW_COUNT = 0x7FFF_F000  # INT_MAX & PAGE_MASK


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
    mode = a[3] & 0o7777 & ~getattr(task, "umask", 0o022)
    f = vfs.vfs_open(_path(k, a[1]), a[2], mode, cwd=cwd)
    if isinstance(f, int):
        return f
    return files(task).install(f, a[2] & O_CLOEXEC)


@syscall("open")
def sys_open(k: Kernel, task: Task, a: list[int]) -> int:
    return sys_openat(k, task, [AT_FDCWD & 0xFFFF_FFFF, a[0], a[1], a[2]])


@syscall("close")
def sys_close(k: Kernel, task: Task, a: list[int]) -> int:
    return files(task).close_fd(_fd(a[0]))


def close_files_on_exit(k: Kernel, table: FdTable) -> None:
    """exit_files(): close everything (a pipe's release wakes whoever sleeps on it)."""
    table.close_all()


def wait_on_file(k: Kernel, task: Task, f: File, events: int) -> object | int:
    """The sleeping half of a read or write the driver could not do now (-EAGAIN): an
    O_NONBLOCK file (or one that cannot be polled) gets -EAGAIN; otherwise the task sleeps
    on the wait queues the file's poll registers until one of `events` may have become true,
    and the call runs again (wait_event_interruptible())."""
    if f.f_flags & O_NONBLOCK or f.f_op.poll is None:
        return -EAGAIN
    err = prepare_to_wait_event(task, k)
    if err:
        return err
    events |= POLLERR | POLLHUP
    if vfs.vfs_poll(f, PollTable(task, events)) & events:
        finish_wait(task, k)  # it became ready meanwhile (input arrived): try again now
        return RESTART
    schedule_timeout(task, None, k)
    return RESTART


def user_buffer_extent(task: Task, addr: int, count: int) -> int:
    """How much of a read's buffer [addr, addr + count) lies in consecutive VMAs, at most
    MAX_RW_COUNT (rw_verify_area + the fault a copy would meet): reads are clamped to it, so a
    huge count with a small buffer cannot make a driver produce gigabytes, and a buffer
    outside every VMA is -EFAULT before any input is consumed."""
    count = min(count, MAX_RW_COUNT)
    n, at = 0, addr
    while n < count:
        vma = task.mm.find_vma(at)
        if vma is None:
            break
        n = min(count, vma.end - addr)
        at = vma.end
    return n


@syscall("read")
def sys_read(k: Kernel, task: Task, a: list[int]) -> int | object:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    count = user_buffer_extent(task, a[1], a[2])
    if a[2] and not count:
        return -EFAULT
    data = vfs.vfs_read(f, count)
    if data == -EAGAIN:
        return wait_on_file(k, task, f, POLLIN)
    if isinstance(data, int):
        return data
    copy_to_user(k, a[1], data)
    return len(data)


@syscall("write")
def sys_write(k: Kernel, task: Task, a: list[int]) -> int | object:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    data = copy_from_user(k, a[1], a[2])
    if pipe_of(f) is not None and not f.f_flags & O_NONBLOCK:
        return pipe_write_all(k, task, f, (a[0], a[1], a[2]), data)
    n = vfs.vfs_write(f, data)
    if n == -EAGAIN:
        return wait_on_file(k, task, f, POLLOUT)
    return n


def pipe_write_all(
    k: Kernel, task: Task, f: File, key: tuple[int, int, int], data: bytes
) -> int | object:
    """fs/pipe.c pipe_write() for a blocking writer: it sleeps until every byte is in the
    pipe (the count written so far survives the call's restarts), and returns early only
    when the readers go away (-EPIPE, or the count if some went in) or a signal comes."""
    progress = wait_state(k).progress
    done = progress.pop(task.pid, (key, 0))
    written = done[1] if done[0] == key else 0
    while written < len(data):
        n = vfs.vfs_write(f, data[written:])
        if n == -EAGAIN:
            ret = wait_on_file(k, task, f, POLLOUT)
            if ret is RESTART:
                progress[task.pid] = (key, written)
                return RESTART
            return written or ret
        if n <= 0:
            return written or n
        written += n
    return written


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
        if _fd(a[0]) == AT_FDCWD:
            cwd = getattr(task, "cwd", None) or vfs.vfs_state().root_dentry()
            return _stat_out(k, generic_fillattr(cwd.d_inode), a[2])
        return sys_fstat64(k, task, [a[0], a[2]])
    cwd = _dir(task, a[0])
    if isinstance(cwd, int):
        return cwd
    stat = vfs.vfs_lstat if a[3] & AT_SYMLINK_NOFOLLOW else vfs.vfs_stat
    return _stat_out(k, stat(path, cwd=cwd), a[2])


def do_getdents(
    k: Kernel, task: Task, a: list[int], readdir: Callable[[File, int], bytes | int]
) -> int:
    """fs/readdir.c getdents()/getdents64() on (fd, dirent, count): the records `readdir`
    fills (vfs_getdents or vfs_getdents64) copied out; their length, or an errno."""
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    data = readdir(f, a[2])
    if isinstance(data, int):
        return data
    copy_to_user(k, a[1], data)
    return len(data)


@syscall("getdents64")
def sys_getdents64(k: Kernel, task: Task, a: list[int]) -> int:
    return do_getdents(k, task, a, vfs.vfs_getdents64)


FIONREAD, FIONBIO, FIONCLEX, FIOCLEX = 0x541B, 0x5421, 0x5450, 0x5451


def do_vfs_ioctl(k: Kernel, task: Task, f: File, fd: int, cmd: int, arg: int) -> int | None:
    """fs/ioctl.c do_vfs_ioctl(): the commands every file answers before its driver does —
    FIOCLEX/FIONCLEX (close-on-exec), FIONBIO (O_NONBLOCK from an int), FIONREAD of a regular
    file (bytes past f_pos). None: the driver's unlocked_ioctl decides."""
    if cmd in (FIOCLEX, FIONCLEX):
        files(task).set_close_on_exec(fd, cmd == FIOCLEX)
        return 0
    if cmd == FIONBIO:
        (on,) = struct.unpack("<i", copy_from_user(k, arg, 4))
        f.f_flags = f.f_flags | O_NONBLOCK if on else f.f_flags & ~O_NONBLOCK
        return 0
    if cmd == FIONREAD and S_ISREG(f.f_inode.i_mode):
        copy_to_user(k, arg, struct.pack("<i", max(0, f.f_inode.i_size - f.f_pos)))
        return 0
    return None


@syscall("ioctl")
def sys_ioctl(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    early = do_vfs_ioctl(k, task, f, _fd(a[0]), a[1], a[2])
    if early is not None:
        return early
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
    if cmd == F_SETFL:  # setfl(): only the SETFL_MASK flags change
        mask = (
            O_APPEND | O_NONBLOCK | O_NOATIME | FASYNC | fcntl_flags(k.machine.board.arch).O_DIRECT
        )
        f.f_flags = (f.f_flags & ~mask) | (arg & mask)
        return 0
    if cmd == F_GETPIPE_SZ:
        return PIPE_BUF_SIZE if pipe_of(f) is not None else -EBADF
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
    cwd = getattr(task, "cwd", None)
    path = (vfs.d_path(cwd) if cwd is not None else "/").encode() + b"\0"
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

# The other file-side calls register themselves on import (they use the helpers above).
import emulator.kernel.fs.open  # noqa: E402, F401
import emulator.kernel.fs.read_write  # noqa: E402, F401
import emulator.kernel.fs.select  # noqa: E402, F401
import emulator.kernel.fs.stat  # noqa: E402, F401
