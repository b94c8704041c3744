"""open(2)/fcntl(2) flags and lseek whence values (include/uapi/asm-generic/fcntl.h,
arch/arm/include/uapi/asm/fcntl.h, include/uapi/linux/fs.h, include/uapi/linux/fcntl.h).

ARM and i386 share the asm-generic values except four flags that ARM redefines:
O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE. Those live in a per-architecture
`FcntlFlags` (`fcntl_flags(arch)`); `File.f_flags` keeps the architecture's own values, as
Linux does, so a driver tests them through the table of the kernel it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass

O_ACCMODE = 0o3
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_NDELAY = O_NONBLOCK
O_DSYNC = 0o10000
FASYNC = 0o20000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
__O_SYNC = 0o4000000
O_SYNC = __O_SYNC | O_DSYNC
O_PATH = 0o10000000
__O_TMPFILE = 0o20000000

SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1


@dataclass(frozen=True, slots=True)
class FcntlFlags:
    """The open flags whose values depend on the architecture."""

    O_DIRECTORY: int
    O_NOFOLLOW: int
    O_DIRECT: int
    O_LARGEFILE: int

    @property
    def O_TMPFILE(self) -> int:
        return 0o20000000 | self.O_DIRECTORY  # __O_TMPFILE | O_DIRECTORY


GENERIC_FCNTL = FcntlFlags(
    O_DIRECTORY=0o200000, O_NOFOLLOW=0o400000, O_DIRECT=0o40000, O_LARGEFILE=0o100000
)
ARM_FCNTL = FcntlFlags(
    O_DIRECTORY=0o40000, O_NOFOLLOW=0o100000, O_DIRECT=0o200000, O_LARGEFILE=0o400000
)


def fcntl_flags(arch: str) -> FcntlFlags:
    """The flag table for a board architecture ("armv7" or "x86")."""
    return ARM_FCNTL if arch.startswith("arm") else GENERIC_FCNTL
