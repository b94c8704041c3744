"""statx(2) (fs/stat.c) and the statfs family (fs/statfs.c, fs/libfs.c simple_statfs,
mm/shmem.c shmem_statfs).

struct statx is the same 256 bytes on every architecture: stx_mask, stx_blksize,
stx_attributes, nlink/uid/gid, u16 mode, ino/size/blocks, stx_attributes_mask, four
statx_timestamps {s64 sec; u32 nsec; s32 pad} (atime, btime, ctime, mtime), rdev and dev as
major/minor pairs, stx_mnt_id, zero padding. As Linux 6.1 does, the result mask is
STATX_BASIC_STATS | STATX_MNT_ID whatever was asked; the root of each file system carries
STATX_ATTR_MOUNT_ROOT. AT_EMPTY_PATH with "" stats the dirfd itself, AT_SYMLINK_NOFOLLOW
the link; unknown flags, both AT_STATX_SYNC bits, or STATX__RESERVED in the mask are -EINVAL.

statfs64/fstatfs64 fill struct statfs64 (84 bytes on ARM EABI and i386 alike: the 64-bit
fields are packed to 4); ARM's wrapper also accepts the size 88 that EABI's natural
alignment would give. statfs/fstatfs fill the 64-byte 32-bit struct statfs. ramfs, proc and
sysfs report no blocks (simple_statfs); tmpfs and devtmpfs half of RAM (shmem's default).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SIZE
from emulator.kernel.errno import EBADF, EINVAL, ENOENT
from emulator.kernel.fs import vfs
from emulator.kernel.fs.fcntl import AT_FDCWD
from emulator.kernel.fs.inode import S_ISDIR, SB_DEV, Dentry, Kstat, generic_fillattr
from emulator.kernel.fs.syscalls import _dir, _fd, _file, _path
from emulator.kernel.syscalls import copy_to_user, syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

AT_SYMLINK_NOFOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH = 0x100, 0x800, 0x1000
AT_STATX_SYNC_TYPE = 0x6000
STATX_BASIC_STATS, STATX_MNT_ID, STATX__RESERVED = 0x7FF, 0x1000, 0x8000_0000
STATX_ATTR_AUTOMOUNT, STATX_ATTR_MOUNT_ROOT, STATX_ATTR_DAX = 0x1000, 0x2000, 0x20_0000
STATX_SIZE = 256

# include/uapi/linux/magic.h
FS_MAGIC = {
    "rootfs": 0x858458F6,  # RAMFS_MAGIC
    "tmpfs": 0x01021994,  # TMPFS_MAGIC
    "devtmpfs": 0x01021994,
    "proc": 0x9FA0,
    "sysfs": 0x62656572,
    "host": 0xEF53,  # the host directory, shown as an ext4 file system
    "pipefs": 0x50495045,
}
ST_RDONLY, ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_VALID, ST_RELATIME = 1, 2, 4, 8, 0x20, 0x1000
NAME_MAX = 255


def _major(dev: int) -> int:
    return dev >> 20


def _minor(dev: int) -> int:
    return dev & 0xFFFFF


def _is_mount_root(d: Dentry) -> bool:
    parent = d.d_parent
    return parent is None or (S_ISDIR(d.d_inode.i_mode) and parent.d_inode.i_sb != d.d_inode.i_sb)


def cp_statx(st: Kstat, mount_root: bool) -> bytes:
    """fs/stat.c cp_statx(): a Kstat as struct statx."""

    def ts(t: tuple[int, int]) -> bytes:
        return struct.pack("<qIi", t[0], t[1], 0)

    head = struct.pack(
        "<IIQIIIHHQQQQ",
        STATX_BASIC_STATS | STATX_MNT_ID,
        st.blksize,
        STATX_ATTR_MOUNT_ROOT if mount_root else 0,
        st.nlink,
        st.uid,
        st.gid,
        st.mode & 0xFFFF,
        0,
        st.ino,
        st.size,
        st.blocks,
        STATX_ATTR_AUTOMOUNT | STATX_ATTR_MOUNT_ROOT | STATX_ATTR_DAX,
    )
    times = ts(st.atime) + ts(st.ctime) + ts(st.ctime) + ts(st.mtime)  # btime: ctime
    devs = struct.pack(
        "<IIIIQ",
        _major(st.rdev),
        _minor(st.rdev),
        _major(st.dev),
        _minor(st.dev),
        _minor(st.dev) + 20,  # mnt_id: one per file system
    )
    return (head + times + devs).ljust(STATX_SIZE, b"\0")


@syscall("statx")
def sys_statx(k: Kernel, task: Task, a: list[int]) -> int:
    dirfd, flags, mask = _fd(a[0]), a[2], a[3]
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE):
        return -EINVAL
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & STATX__RESERVED:
        return -EINVAL
    path = _path(k, a[1])
    if not path:
        if not flags & AT_EMPTY_PATH:
            return -ENOENT
        if dirfd == AT_FDCWD:
            d: Dentry | int | None = getattr(task, "cwd", None) or vfs.vfs_state().root_dentry()
        else:
            f = _file(task, a[0])
            if f is None:
                return -EBADF
            d = f.f_path
    else:
        cwd = _dir(task, a[0])
        if isinstance(cwd, int):
            return cwd
        d = vfs.path_lookup(path, follow=not flags & AT_SYMLINK_NOFOLLOW, cwd=cwd)
    if isinstance(d, int):
        return d
    assert d is not None
    copy_to_user(k, a[4], cp_statx(generic_fillattr(d.d_inode), _is_mount_root(d)))
    return 0


# -- statfs -------------------------------------------------------------------------------------


def vfs_statfs(k: Kernel, sb: str) -> tuple[int, ...]:
    """(f_type, f_bsize, blocks, bfree, bavail, files, ffree, namelen, frsize, flags)."""
    flags = ST_VALID | ST_RELATIME
    if sb == "host":
        flags |= ST_RDONLY
    if sb in ("proc", "sysfs"):
        flags |= ST_NOSUID | ST_NODEV | ST_NOEXEC
    if sb in ("tmpfs", "devtmpfs"):
        from emulator.kernel.mm.mmzone import meminfo_fields

        total = meminfo_fields()["MemTotal"] * 1024 // PAGE_SIZE // 2
        blocks, files = total, total
        if sb == "devtmpfs":
            flags |= ST_NOSUID
    else:
        blocks = files = 0
    magic = FS_MAGIC.get(sb, FS_MAGIC["rootfs"])
    return (magic, PAGE_SIZE, blocks, blocks, blocks, files, files, NAME_MAX, PAGE_SIZE, flags)


# struct statfs64 packed to 4 (ARM EABI and i386 alike) and the 32-bit struct statfs.
STATFS64_FMT, STATFS_FMT = "<IIQQQQQiiIII16x", "<IIIIIIIiiIII16x"


def _statfs(k: Kernel, sb: str, fmt: str) -> bytes:
    """do_statfs64() / do_statfs_native() (fs/statfs.c): vfs_statfs() in the user layout."""
    t, bsize, blocks, bfree, bavail, files, ffree, namelen, frsize, flags = vfs_statfs(k, sb)
    fsid = SB_DEV.get(sb, 1)
    return struct.pack(
        fmt, t, bsize, blocks, bfree, bavail, files, ffree, fsid, 0, namelen, frsize, flags
    )


def _sb_of_path(k: Kernel, task: Task, addr: int) -> str | int:
    d = vfs.path_lookup(_path(k, addr), cwd=getattr(task, "cwd", None))
    return d if isinstance(d, int) else d.d_inode.i_sb


def _sb_of_fd(task: Task, fd: int) -> str | int:
    f = _file(task, fd)
    return -EBADF if f is None else f.f_inode.i_sb


def _size_ok(k: Kernel, size: int) -> bool:
    return size == 84 or (size == 88 and k.machine.board.arch == "armv7")


def _put_statfs(k: Kernel, sb: str | int, buf: int, fmt: str) -> int:
    """The tail of the statfs syscalls: an errno from the lookup, or the struct copied out."""
    if isinstance(sb, int):
        return sb
    copy_to_user(k, buf, _statfs(k, sb, fmt))
    return 0


@syscall("statfs64")
def sys_statfs64(k: Kernel, task: Task, a: list[int]) -> int:
    if not _size_ok(k, a[1]):
        return -EINVAL
    return _put_statfs(k, _sb_of_path(k, task, a[0]), a[2], STATFS64_FMT)


@syscall("fstatfs64")
def sys_fstatfs64(k: Kernel, task: Task, a: list[int]) -> int:
    if not _size_ok(k, a[1]):
        return -EINVAL
    return _put_statfs(k, _sb_of_fd(task, a[0]), a[2], STATFS64_FMT)


@syscall("statfs")
def sys_statfs(k: Kernel, task: Task, a: list[int]) -> int:
    return _put_statfs(k, _sb_of_path(k, task, a[0]), a[1], STATFS_FMT)


@syscall("fstatfs")
def sys_fstatfs(k: Kernel, task: Task, a: list[int]) -> int:
    return _put_statfs(k, _sb_of_fd(task, a[0]), a[1], STATFS_FMT)
