"""Open-file references and per-process descriptor tables (fs/file_table.c, fs/file.c).

A `File` is shared by every descriptor that refers to it — dup'ed fds and the copies a
fork makes — and counts them in `f_count`: `get_file` takes a reference, `fput` drops one
and, at the last, runs the file's flush/release. `vfs_open` returns a File holding one
reference, which `FdTable.fd_install` (or `install`) consumes, as fd_install does in Linux.

`FdTable` is struct files_struct: fd → File, the close-on-exec set, the lowest-free-fd rule,
and RLIMIT_NOFILE (1024, the default soft limit) as the bound: -EMFILE past it; dup2/dup3
to a number at or past it give -EBADF.
"""

from __future__ import annotations

from emulator.kernel.errno import EBADF, EINVAL, EMFILE
from emulator.kernel.fs.fcntl import O_CLOEXEC
from emulator.kernel.fs.inode import File

NR_OPEN_DEFAULT = 1024


def get_file(file: File) -> File:
    """Take a reference."""
    file.f_count += 1
    return file


def fput(file: File) -> None:
    """Drop a reference; the last one releases the file (__fput)."""
    if file.f_count <= 0:
        from emulator.kernel.core import current_kernel

        current_kernel().bug("fput on a released file", f"  file: {file.f_path.d_name}")
        return
    file.f_count -= 1
    if file.f_count == 0:
        if file.f_op.release is not None:
            file.f_op.release(file.f_inode, file)


def filp_close(file: File) -> int:
    """fs/open.c: flush, then drop the reference (close(2) on one descriptor)."""
    ret = 0
    if file.f_op.flush is not None:
        ret = file.f_op.flush(file)
    fput(file)
    return ret


class FdTable:
    """struct files_struct: one process's file descriptors."""

    def __init__(self, max_fds: int = NR_OPEN_DEFAULT) -> None:
        self.max_fds = max_fds
        self.fd: dict[int, File] = {}
        self.close_on_exec: set[int] = set()

    # -- allocation ----------------------------------------------------------------------

    def get_unused_fd_flags(self, flags: int = 0, minfd: int = 0) -> int:
        """The lowest free descriptor ≥ minfd (reserved with O_CLOEXEC if asked) or -EMFILE."""
        fd = minfd
        while fd in self.fd:
            fd += 1
        if fd >= self.max_fds:
            return -EMFILE
        self.set_close_on_exec(fd, bool(flags & O_CLOEXEC))
        return fd

    def fd_install(self, fd: int, file: File) -> None:
        """Point `fd` at `file`, consuming the caller's reference."""
        self.fd[fd] = file

    def install(self, file: File, flags: int = 0, minfd: int = 0) -> int:
        """get_unused_fd_flags + fd_install: the new fd, or -EMFILE (the reference is then
        the caller's to drop)."""
        fd = self.get_unused_fd_flags(flags, minfd)
        if fd >= 0:
            self.fd_install(fd, file)
        return fd

    def fget(self, fd: int) -> File | None:
        """The File behind fd (no new reference: the model has no concurrent close)."""
        return self.fd.get(fd)

    # -- close -------------------------------------------------------------------------------

    def close_fd(self, fd: int) -> int:
        """close(2): 0 or -EBADF."""
        file = self.fd.pop(fd, None)
        if file is None:
            return -EBADF
        self.close_on_exec.discard(fd)
        return filp_close(file)

    def get_close_on_exec(self, fd: int) -> bool:
        return fd in self.close_on_exec

    def set_close_on_exec(self, fd: int, flag: bool) -> None:
        if flag:
            self.close_on_exec.add(fd)
        else:
            self.close_on_exec.discard(fd)

    def do_close_on_exec(self) -> None:
        """execve(2): close every descriptor marked close-on-exec."""
        for fd in sorted(self.close_on_exec):
            if fd in self.fd:
                self.close_fd(fd)
        self.close_on_exec.clear()

    def close_all(self) -> None:
        """exit_files(): close everything (process exit)."""
        for fd in sorted(self.fd):
            self.close_fd(fd)

    # -- dup ---------------------------------------------------------------------------------

    def dup(self, oldfd: int) -> int:
        """dup(2): the lowest free fd sharing oldfd's File (close-on-exec clear)."""
        return self.f_dupfd(oldfd, 0, 0)

    def f_dupfd(self, oldfd: int, minfd: int, flags: int) -> int:
        """fcntl F_DUPFD / F_DUPFD_CLOEXEC."""
        file = self.fd.get(oldfd)
        if file is None:
            return -EBADF
        if minfd < 0 or minfd >= self.max_fds:
            return -EINVAL
        newfd = self.install(get_file(file), flags, minfd)
        if newfd < 0:
            fput(file)
        return newfd

    def dup2(self, oldfd: int, newfd: int) -> int:
        """dup2(2): oldfd == newfd returns newfd if it is open (-EBADF otherwise)."""
        if oldfd == newfd:
            return newfd if oldfd in self.fd else -EBADF
        return self.dup3(oldfd, newfd, 0)

    def dup3(self, oldfd: int, newfd: int, flags: int) -> int:
        """dup3(2): -EINVAL for oldfd == newfd or flags other than O_CLOEXEC; newfd is closed
        first if open."""
        if flags & ~O_CLOEXEC or oldfd == newfd:
            return -EINVAL
        if newfd < 0 or newfd >= self.max_fds:
            return -EBADF
        file = self.fd.get(oldfd)
        if file is None:
            return -EBADF
        get_file(file)
        if newfd in self.fd:
            self.close_fd(newfd)
        self.fd_install(newfd, file)
        self.set_close_on_exec(newfd, bool(flags & O_CLOEXEC))
        return newfd

    # -- fork --------------------------------------------------------------------------------

    def dup_fd(self) -> FdTable:
        """fork(2): a copy sharing every File (one more reference each)."""
        new = FdTable(self.max_fds)
        for fd, file in self.fd.items():
            new.fd[fd] = get_file(file)
        new.close_on_exec = set(self.close_on_exec)
        return new
