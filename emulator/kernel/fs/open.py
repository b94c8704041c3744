"""Working directory, umask, truncation, sync and attributes (fs/open.c, fs/sync.c,
fs/readdir.c's getdents, kernel/sys.c umask); the directory-changing calls are in
namei_syscalls.py.

Attributes: chmod/fchmod/fchmodat change the mode bits of in-memory files (-EROFS on the host
overlay); the chown family checks its target and succeeds without effect (every file belongs
to root); sync/syncfs have nothing to write back.

The working directory (`task.cwd`, `task.cwd_path`) and the umask (`task.umask`, 022 at
boot) are per process and inherited across fork (`copy_fs_struct`). The umask clears mode
bits of files and directories created by open(O_CREAT), mkdir and mknod.

64-bit lengths come in register pairs (see read_write.py): ftruncate64 (fd, pad, lo, hi)
and truncate64 (path, pad, lo, hi) on ARM EABI, (fd, lo, hi) and (path, lo, hi) on i386.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.kernel.errno import EBADF, EINVAL, EISDIR, ENOENT, ENOTDIR
from emulator.kernel.fs import vfs
from emulator.kernel.fs.fcntl import O_WRONLY
from emulator.kernel.fs.file_table import fput
from emulator.kernel.fs.inode import S_ISDIR, S_ISREG
from emulator.kernel.fs.read_write import arg64
from emulator.kernel.fs.syscalls import _dir, _fd, _file, _path, do_getdents, files
from emulator.kernel.syscalls import syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.fs.inode import Dentry, File
    from emulator.kernel.process import Task

AT_REMOVEDIR = 0x200
AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH = 0x100, 0x1000
AT_FDCWD_ARG = 0xFFFF_FF9C
DEFAULT_UMASK = 0o022


def current_umask(task: Task) -> int:
    return int(getattr(task, "umask", DEFAULT_UMASK))


def copy_fs_struct(parent: Task, child: Task) -> None:
    """copy_fs_struct() at fork: the working directory and the umask (and the program's
    dentry, which Linux's dup_mm shares as mm->exe_file)."""
    for attr in ("cwd", "cwd_path", "umask", "exe_dentry"):
        if hasattr(parent, attr):
            setattr(child, attr, getattr(parent, attr))


@syscall("umask")
def sys_umask(k: Kernel, task: Task, a: list[int]) -> int:
    old = current_umask(task)
    task.umask = a[0] & 0o777  # type: ignore[attr-defined]
    return old


@syscall("fchdir")
def sys_fchdir(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    if f is None:
        return -EBADF
    if not S_ISDIR(f.f_inode.i_mode):
        return -ENOTDIR
    task.cwd = f.f_path  # type: ignore[attr-defined]
    task.cwd_path = vfs.d_path(f.f_path)  # type: ignore[attr-defined]
    return 0


# -- truncate -----------------------------------------------------------------------------------


def do_ftruncate(f: File | None, length: int) -> int:
    if f is None:
        return -EBADF
    if length < 0:
        return -EINVAL
    if not S_ISREG(f.f_inode.i_mode):
        return -EISDIR if S_ISDIR(f.f_inode.i_mode) else -EINVAL
    return vfs.vfs_ftruncate(f, length)


def do_truncate(k: Kernel, task: Task, addr: int, length: int) -> int:
    if length < 0:
        return -EINVAL
    f = vfs.vfs_open(_path(k, addr), O_WRONLY, cwd=getattr(task, "cwd", None))
    if isinstance(f, int):
        return f
    try:
        return do_ftruncate(f, length)
    finally:
        fput(f)


@syscall("ftruncate")
def sys_ftruncate(k: Kernel, task: Task, a: list[int]) -> int:
    return do_ftruncate(_file(task, a[0]), _fd(a[1]))


@syscall("ftruncate64")
def sys_ftruncate64(k: Kernel, task: Task, a: list[int]) -> int:
    return do_ftruncate(_file(task, a[0]), arg64(k, a, 2, 1))


@syscall("truncate64")
def sys_truncate64(k: Kernel, task: Task, a: list[int]) -> int:
    return do_truncate(k, task, a[0], arg64(k, a, 2, 1))


@syscall("fsync")
@syscall("fdatasync")
def sys_fsync(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    return -EBADF if f is None else vfs.vfs_fsync(f)


@syscall("getdents")
def sys_getdents(k: Kernel, task: Task, a: list[int]) -> int:
    return do_getdents(k, task, a, vfs.vfs_getdents)


# -- attributes -----------------------------------------------------------------------------------


def _lookup_at(k: Kernel, task: Task, dirfd: int, addr: int, flags: int) -> Dentry | int:
    """The dentry an *at() call names: "" with AT_EMPTY_PATH (or a NULL path, as utimensat
    allows) is the dirfd itself."""
    path = _path(k, addr) if addr else ""
    if not path:
        if addr and not flags & AT_EMPTY_PATH:
            return -ENOENT
        f = _file(task, dirfd)
        return -EBADF if f is None else f.f_path
    cwd = _dir(task, dirfd)
    if isinstance(cwd, int):
        return cwd
    return vfs.path_lookup(path, follow=not flags & AT_SYMLINK_NOFOLLOW, cwd=cwd)


@syscall("fchmodat")
def sys_fchmodat(k: Kernel, task: Task, a: list[int]) -> int:
    d = _lookup_at(k, task, a[0], a[1], 0)
    return d if isinstance(d, int) else vfs.vfs_chmod(d, a[2])


@syscall("chmod")
def sys_chmod(k: Kernel, task: Task, a: list[int]) -> int:
    return sys_fchmodat(k, task, [AT_FDCWD_ARG, a[0], a[1]])


@syscall("fchmod")
def sys_fchmod(k: Kernel, task: Task, a: list[int]) -> int:
    f = _file(task, a[0])
    return -EBADF if f is None else vfs.vfs_chmod(f.f_path, a[1])


@syscall("fchownat")
def sys_fchownat(k: Kernel, task: Task, a: list[int]) -> int:
    if a[4] & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -EINVAL
    d = _lookup_at(k, task, a[0], a[1], a[4])
    return d if isinstance(d, int) else 0


@syscall("chown32")
@syscall("lchown32")
def sys_chown(k: Kernel, task: Task, a: list[int]) -> int:
    d = _lookup_at(k, task, AT_FDCWD_ARG, a[0], 0)
    return d if isinstance(d, int) else 0


@syscall("fchown32")
def sys_fchown(k: Kernel, task: Task, a: list[int]) -> int:
    return -EBADF if _file(task, a[0]) is None else 0


@syscall("sync")
@syscall("syncfs")
def sys_sync(k: Kernel, task: Task, a: list[int]) -> int:
    return 0


__all__ = ["copy_fs_struct", "current_umask", "files"]
