"""The VFS objects of include/linux/fs.h, include/linux/dcache.h and include/linux/stat.h:
`Inode`, `Dentry`, `File`, `FileOperations`, `Kstat`, and the S_IF*/DT_* encodings.

What is modelled: an inode is one object for every kind of file the model serves —
directories (ordered `children`), regular files (`data`), symlinks (`i_link`, or a callable
for /proc/self), character devices (`i_rdev`), procfs-style files whose text a callable
produces at open time (`proc_show`), and files and directories of a read-only host overlay
(`host_path`). Dentries are not cached: a lookup builds a chain of `Dentry` objects whose
`d_parent` links let `..` and `d_path` work (fs/namei.py).

Deviations: no dcache, no superblock objects (an inode names its file system in `i_sb`),
no permissions (every task is root: uid/gid 0), and every timestamp is 0 so runs are
deterministic. FileOperations callbacks take Python values instead of user pointers:
read(file, count, pos) returns the bytes (or -errno), write(file, data, pos) the count
written (or -errno); the VFS advances f_pos.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

S_IFMT = 0o170000
S_IFSOCK = 0o140000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFBLK = 0o060000
S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFIFO = 0o010000

DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12

FMODE_READ = 0x1
FMODE_WRITE = 0x2
FMODE_LSEEK = 0x4
FMODE_PREAD = 0x8
FMODE_PWRITE = 0x10
FMODE_PATH = 0x4000

# include/uapi/linux/eventpoll.h
EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP = 0x001, 0x002, 0x004, 0x008, 0x010
EPOLLRDNORM, EPOLLWRNORM = 0x040, 0x100


def S_ISDIR(mode: int) -> bool:
    return mode & S_IFMT == S_IFDIR


def S_ISREG(mode: int) -> bool:
    return mode & S_IFMT == S_IFREG


def S_ISLNK(mode: int) -> bool:
    return mode & S_IFMT == S_IFLNK


def S_ISCHR(mode: int) -> bool:
    return mode & S_IFMT == S_IFCHR


def S_DT(mode: int) -> int:
    """fs_umode_to_dtype(): the d_type of a mode."""
    return (mode & S_IFMT) >> 12


IoctlResult = int | tuple[int, bytes]
"""What unlocked_ioctl returns: the syscall's value, or (value, bytes the syscall layer copies
to the user pointer `arg`) for ioctls that fill a structure (TCGETS, TIOCGWINSZ, FBIOGET_*)."""


@dataclass(frozen=True, slots=True)
class FileOperations:
    """struct file_operations: the table a driver or file system hands the VFS.

    A missing member means what it means in Linux: no read → -EINVAL, no write → -EINVAL,
    no llseek → -ESPIPE (the file is a stream), no unlocked_ioctl → -ENOTTY.
    """

    owner: str | None = None
    llseek: Callable[[File, int, int], int] | None = None
    read: Callable[[File, int, int], bytes | int] | None = None
    write: Callable[[File, bytes, int], int] | None = None
    iterate_shared: Callable[[File], list[tuple[str, int, int]] | int] | None = None
    poll: Callable[[File, Any], int] | None = None
    unlocked_ioctl: Callable[[File, int, int], IoctlResult] | None = None
    mmap: Callable[[File, Any], int] | None = None
    open: Callable[[Inode, File], int] | None = None
    flush: Callable[[File], int] | None = None
    release: Callable[[Inode, File], int] | None = None
    fsync: Callable[[File, int, int, int], int] | None = None


EMPTY_FOPS = FileOperations(owner="empty")


@dataclass(eq=False)
class Inode:
    """struct inode: one file, whatever its kind (the mode's S_IFMT bits say which)."""

    i_ino: int
    i_mode: int
    i_sb: str = "rootfs"  # the file system it belongs to ("rootfs", "proc", "host", ...)
    i_rdev: int = 0
    i_fop: FileOperations = EMPTY_FOPS
    children: dict[str, Inode] | None = None  # directories (insertion order = readdir order)
    data: bytearray | None = None  # regular files of the in-memory tree
    i_link: str | Callable[[], str | None] | None = None  # symlinks
    proc_show: Callable[[], str | bytes] | None = None  # procfs-style files
    host_path: str | None = None  # files of the read-only host overlay
    host_size: int = 0
    i_private: Any = None
    read_only: bool = False  # directories in which nothing may be created (proc, sys)
    i_atime: tuple[int, int] = (0, 0)  # (seconds, nanoseconds); utimensat() sets them
    i_mtime: tuple[int, int] = (0, 0)
    i_ctime: tuple[int, int] = (0, 0)
    links: int = 1  # names of a non-directory (link() adds, unlink() removes)

    @property
    def i_size(self) -> int:
        if self.data is not None:
            return len(self.data)
        if S_ISLNK(self.i_mode) and isinstance(self.i_link, str):
            return len(self.i_link.encode("utf-8", "surrogateescape"))
        return self.host_size

    def __repr__(self) -> str:
        mode, rdev = f"{self.i_mode:#o}", f"{self.i_rdev:#x}"
        return f"Inode(ino={self.i_ino}, mode={mode}, sb={self.i_sb!r}, rdev={rdev})"

    def i_nlink(self) -> int:
        if self.children is None:
            return self.links
        return 2 + sum(1 for c in self.children.values() if S_ISDIR(c.i_mode))


@dataclass(eq=False)
class Dentry:
    """struct dentry for one walk: the name, the inode, the parent (None at the root), and the
    host directory that backs the same name when the overlay has one (union directories)."""

    d_name: str
    d_inode: Inode
    d_parent: Dentry | None
    host: str | None = None

    def __repr__(self) -> str:
        return f"Dentry({self.d_name!r}, {self.d_inode!r})"


@dataclass(eq=False)
class File:
    """struct file: an open file description (shared by dup'ed and inherited fds)."""

    f_path: Dentry
    f_inode: Inode
    f_op: FileOperations
    f_flags: int
    f_mode: int
    f_pos: int = 0
    private_data: Any = None
    f_count: int = 1

    def __repr__(self) -> str:
        flags = f"{self.f_flags:#o}"
        return (
            f"File({self.f_path.d_name!r}, flags={flags}, pos={self.f_pos}, count={self.f_count})"
        )

    @property
    def f_dentry(self) -> Dentry:
        return self.f_path


@dataclass(frozen=True, slots=True)
class Kstat:
    """struct kstat (include/linux/stat.h): what stat() reports, before the syscall layer
    packs it into the architecture's struct stat / stat64 / statx."""

    dev: int
    ino: int
    mode: int
    nlink: int
    uid: int
    gid: int
    rdev: int
    size: int
    blksize: int
    blocks: int
    atime: tuple[int, int] = (0, 0)  # (seconds, nanoseconds)
    mtime: tuple[int, int] = (0, 0)
    ctime: tuple[int, int] = (0, 0)


SB_DEV = {"rootfs": 0x1, "host": 0x2, "devtmpfs": 0x5, "tmpfs": 0x15, "proc": 0x4, "sysfs": 0x16}


def generic_fillattr(inode: Inode) -> Kstat:
    """fs/stat.c generic_fillattr(): the inode's attributes as a Kstat."""
    size = 0 if inode.proc_show is not None else inode.i_size
    return Kstat(
        dev=SB_DEV.get(inode.i_sb, 0x1),
        ino=inode.i_ino,
        mode=inode.i_mode,
        nlink=inode.i_nlink(),
        uid=0,
        gid=0,
        rdev=inode.i_rdev,
        size=size,
        blksize=4096,
        blocks=(size + 511) // 512,
        atime=inode.i_atime,
        mtime=inode.i_mtime,
        ctime=inode.i_ctime,
    )


@dataclass
class InoAllocator:
    """get_next_ino(): inode numbers handed out in order, so runs are deterministic."""

    next_ino: int = 1
    by_host_path: dict[str, Inode] = field(default_factory=dict)

    def get_next_ino(self) -> int:
        ino = self.next_ino
        self.next_ino += 1
        return ino
