"""Directory-changing system calls (fs/namei.c, fs/utimes.c): mkdir/mkdirat, rmdir,
unlink/unlinkat, symlink/symlinkat, link/linkat, rename/renameat/renameat2, and utimensat.

They change the in-memory tree (rootfs, /tmp, /dev); the host overlay is read-only (-EROFS),
and a rename between the two is -EXDEV, as between two mounts. Every task is root, so there
are no permission checks beyond the read-only directories of /proc and /sys (-EACCES).
Timestamps come from the virtual clock, so two runs stamp the same times.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emulator.kernel.errno import (
    EBADF,
    EBUSY,
    EEXIST,
    EINVAL,
    EISDIR,
    ENOENT,
    ENOTDIR,
    ENOTEMPTY,
    EPERM,
    EROFS,
    EXDEV,
)
from emulator.kernel.fs import vfs
from emulator.kernel.fs.inode import S_ISDIR, Dentry
from emulator.kernel.fs.namei import lookup_one, lookup_parent, path_lookup, vfs_state
from emulator.kernel.fs.syscalls import _dir, _path, files
from emulator.kernel.fs.vfs import _may_create
from emulator.kernel.syscalls import copy_from_user, syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW = 0x200, 0x400, 0x1000, 0x100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def _cwd(task: Task) -> Dentry | None:
    return getattr(task, "cwd", None)


def _at(task: Task, dirfd: int) -> Dentry | None | int:
    return _dir(task, dirfd)


@syscall("mkdir")
def sys_mkdir(k: Kernel, task: Task, a: list[int]) -> int:
    return vfs.vfs_mkdir(_path(k, a[0]), a[1], cwd=_cwd(task))


@syscall("mkdirat")
def sys_mkdirat(k: Kernel, task: Task, a: list[int]) -> int:
    cwd = _at(task, a[0])
    return cwd if isinstance(cwd, int) else vfs.vfs_mkdir(_path(k, a[1]), a[2], cwd=cwd)


@syscall("rmdir")
def sys_rmdir(k: Kernel, task: Task, a: list[int]) -> int:
    return vfs.vfs_rmdir(_path(k, a[0]), cwd=_cwd(task))


@syscall("unlink")
def sys_unlink(k: Kernel, task: Task, a: list[int]) -> int:
    return vfs.vfs_unlink(_path(k, a[0]), cwd=_cwd(task))


@syscall("unlinkat")
def sys_unlinkat(k: Kernel, task: Task, a: list[int]) -> int:
    if a[2] & ~AT_REMOVEDIR:
        return -EINVAL
    cwd = _at(task, a[0])
    if isinstance(cwd, int):
        return cwd
    path = _path(k, a[1])
    if a[2] & AT_REMOVEDIR:
        return vfs.vfs_rmdir(path, cwd=cwd)
    return vfs.vfs_unlink(path, cwd=cwd)


@syscall("symlink")
def sys_symlink(k: Kernel, task: Task, a: list[int]) -> int:
    return vfs.vfs_symlink(_path(k, a[0]), _path(k, a[1]), cwd=_cwd(task))


@syscall("symlinkat")
def sys_symlinkat(k: Kernel, task: Task, a: list[int]) -> int:
    cwd = _at(task, a[1])
    if isinstance(cwd, int):
        return cwd
    return vfs.vfs_symlink(_path(k, a[0]), _path(k, a[2]), cwd=cwd)


def _parent_for_change(path: str, cwd: Dentry | None) -> tuple[Dentry, str] | int:
    lp = lookup_parent(path, cwd=cwd)
    if isinstance(lp, int):
        return lp
    parent, name = lp
    if name in (".", ".."):
        return -EBUSY if name == "." else -ENOTEMPTY
    inode = parent.d_inode
    if inode.i_sb == "host" or inode.children is None:
        return _may_create(parent) or -EXDEV
    return parent, name


def vfs_link(
    old: str, new: str, *, old_cwd: Dentry | None, new_cwd: Dentry | None, follow: bool
) -> int:
    """link(2): a second name for an in-memory inode (not directories: -EPERM)."""
    src = path_lookup(old, follow=follow, cwd=old_cwd)
    if isinstance(src, int):
        return src
    if S_ISDIR(src.d_inode.i_mode):
        return -EPERM
    if src.d_inode.i_sb == "host":
        return -EXDEV
    lp = _parent_for_change(new, new_cwd)
    if isinstance(lp, int):
        return lp
    parent, name = lp
    err = _may_create(parent)
    if err:
        return int(err)
    if lookup_one(vfs_state(), parent, name) is not None:
        return -EEXIST
    assert parent.d_inode.children is not None
    parent.d_inode.children[name] = src.d_inode
    src.d_inode.links += 1
    return 0


@syscall("link")
def sys_link(k: Kernel, task: Task, a: list[int]) -> int:
    cwd = _cwd(task)
    return vfs_link(_path(k, a[0]), _path(k, a[1]), old_cwd=cwd, new_cwd=cwd, follow=False)


@syscall("linkat")
def sys_linkat(k: Kernel, task: Task, a: list[int]) -> int:
    old_cwd, new_cwd = _at(task, a[0]), _at(task, a[2])
    if isinstance(old_cwd, int):
        return old_cwd
    if isinstance(new_cwd, int):
        return new_cwd
    if a[4] & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        return -EINVAL
    return vfs_link(
        _path(k, a[1]),
        _path(k, a[3]),
        old_cwd=old_cwd,
        new_cwd=new_cwd,
        follow=bool(a[4] & AT_SYMLINK_FOLLOW),
    )


def _is_ancestor(d: Dentry, of: Dentry) -> bool:
    """Whether directory inode `d` is `of` or one of its ancestors (moving a directory
    into itself is -EINVAL)."""
    p: Dentry | None = of
    while p is not None:
        if p.d_inode is d.d_inode:
            return True
        p = p.d_parent
    return False


def vfs_rename(
    old: str, new: str, flags: int = 0, *, old_cwd: Dentry | None, new_cwd: Dentry | None
) -> int:
    """rename(2)/renameat2(2) within the in-memory tree, with Linux's checks: a directory
    replaces only an empty directory, a non-directory never replaces a directory,
    RENAME_NOREPLACE gives -EEXIST, RENAME_EXCHANGE swaps the two names."""
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) or flags == RENAME_NOREPLACE | RENAME_EXCHANGE:
        return -EINVAL
    src_lp = _parent_for_change(old, old_cwd)
    if isinstance(src_lp, int):
        return src_lp
    dst_lp = _parent_for_change(new, new_cwd)
    if isinstance(dst_lp, int):
        return dst_lp
    (sp, sname), (dp, dname) = src_lp, dst_lp
    state = vfs_state()
    src = lookup_one(state, sp, sname)
    if src is None:
        return -ENOENT
    if src.d_inode.i_sb == "host":
        return -EXDEV
    for parent in (sp, dp):
        err = _may_create(parent)
        if err:
            return int(err)
    dst = lookup_one(state, dp, dname)
    if dst is not None and dst.d_inode.i_sb == "host":
        return -EXDEV
    if flags & RENAME_EXCHANGE and dst is None:
        return -ENOENT
    if flags & RENAME_NOREPLACE and dst is not None:
        return -EEXIST
    if S_ISDIR(src.d_inode.i_mode) and _is_ancestor(src, dp):
        return -EINVAL
    if dst is not None and not flags & RENAME_EXCHANGE:
        if dst.d_inode is src.d_inode:
            return 0
        if S_ISDIR(src.d_inode.i_mode) and not S_ISDIR(dst.d_inode.i_mode):
            return -ENOTDIR
        if not S_ISDIR(src.d_inode.i_mode) and S_ISDIR(dst.d_inode.i_mode):
            return -EISDIR
        if S_ISDIR(dst.d_inode.i_mode) and (dst.d_inode.children or dst.host):
            return -ENOTEMPTY
    assert sp.d_inode.children is not None and dp.d_inode.children is not None
    if flags & RENAME_EXCHANGE:
        assert dst is not None
        sp.d_inode.children[sname], dp.d_inode.children[dname] = dst.d_inode, src.d_inode
        return 0
    del sp.d_inode.children[sname]
    if dst is not None and not S_ISDIR(dst.d_inode.i_mode):
        dst.d_inode.links -= 1
    dp.d_inode.children[dname] = src.d_inode
    return 0


@syscall("rename")
def sys_rename(k: Kernel, task: Task, a: list[int]) -> int:
    cwd = _cwd(task)
    return vfs_rename(_path(k, a[0]), _path(k, a[1]), old_cwd=cwd, new_cwd=cwd)


def _renameat(k: Kernel, task: Task, a: list[int], flags: int) -> int:
    old_cwd, new_cwd = _at(task, a[0]), _at(task, a[2])
    if isinstance(old_cwd, int):
        return old_cwd
    if isinstance(new_cwd, int):
        return new_cwd
    return vfs_rename(_path(k, a[1]), _path(k, a[3]), flags, old_cwd=old_cwd, new_cwd=new_cwd)


@syscall("renameat")
def sys_renameat(k: Kernel, task: Task, a: list[int]) -> int:
    return _renameat(k, task, a, 0)


@syscall("renameat2")
def sys_renameat2(k: Kernel, task: Task, a: list[int]) -> int:
    return _renameat(k, task, a, a[4])


def _utimens(k: Kernel, times: list[tuple[int, int]] | None, d: Dentry) -> int:
    inode = d.d_inode
    if inode.i_sb == "host":
        return -EROFS
    now_ns = k.machine.clock.now()
    now = (now_ns // 1_000_000_000, now_ns % 1_000_000_000)
    new = [now, now] if times is None else list(times)
    for i, (_sec, nsec) in enumerate(new):
        if nsec == UTIME_NOW:
            new[i] = now
        elif nsec != UTIME_OMIT and not 0 <= nsec < 1_000_000_000:
            return -EINVAL
    if new[0][1] != UTIME_OMIT:
        inode.i_atime = new[0]
    if new[1][1] != UTIME_OMIT:
        inode.i_mtime = new[1]
    inode.i_ctime = now
    return 0


def _read_timespecs(k: Kernel, addr: int, fmt: str) -> list[tuple[int, int]]:
    size = struct.calcsize(fmt)
    raw = copy_from_user(k, addr, 2 * size)
    out = []
    for i in range(2):
        sec, nsec = struct.unpack_from(fmt, raw, i * size)
        out.append((sec, nsec))
    return out


def _do_utimensat(k: Kernel, task: Task, a: list[int], fmt: str) -> int:
    dirfd, path_addr, times_addr, flags = a[0], a[1], a[2], a[3]
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -EINVAL
    times = _read_timespecs(k, times_addr, fmt) if times_addr else None
    if path_addr == 0:  # futimens(): the file dirfd names
        f = files(task).fget(dirfd)
        if f is None:
            return -EBADF
        return _utimens(k, times, f.f_path)
    cwd = _at(task, dirfd)
    if isinstance(cwd, int):
        return cwd
    d = path_lookup(_path(k, path_addr), follow=not flags & AT_SYMLINK_NOFOLLOW, cwd=cwd)
    return d if isinstance(d, int) else _utimens(k, times, d)


@syscall("utimensat")
def sys_utimensat(k: Kernel, task: Task, a: list[int]) -> int:
    """utimensat with 32-bit struct timespec (old_timespec32)."""
    return _do_utimensat(k, task, a, "<iI")


@syscall("utimensat_time64")
def sys_utimensat_time64(k: Kernel, task: Task, a: list[int]) -> int:
    return _do_utimensat(k, task, a, "<qq")
