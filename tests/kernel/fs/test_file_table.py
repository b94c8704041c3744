"""File descriptor tables: lowest free fd, dup/dup2/dup3, close-on-exec, fork, refcounts."""

from __future__ import annotations

import emulator.kernel.drivers.char.mem  # noqa: F401 - registers the /dev nodes at boot
from emulator.kernel.errno import EBADF, EINVAL, EMFILE
from emulator.kernel.fs.fcntl import O_CLOEXEC, O_RDWR
from emulator.kernel.fs.file_table import FdTable, fput
from emulator.kernel.fs.inode import File, FileOperations
from emulator.kernel.fs.vfs import vfs_open


def _null() -> File:
    f = vfs_open("/dev/null", O_RDWR)
    assert isinstance(f, File)
    return f


def test_install_takes_the_lowest_free_fd(kernel):
    t = FdTable()
    assert [t.install(_null()) for _ in range(3)] == [0, 1, 2]
    assert t.close_fd(1) == 0
    assert t.install(_null()) == 1
    assert t.close_fd(7) == -EBADF


def test_dup2_shares_the_file_and_replaces_the_target(kernel):
    t = FdTable()
    a, b = t.install(_null()), t.install(_null())
    old_b = t.fget(b)
    assert old_b is not None
    assert t.dup2(a, b) == b
    assert t.fget(b) is t.fget(a) and t.fget(a).f_count == 2  # type: ignore[union-attr]
    assert old_b.f_count == 0  # the replaced file was closed
    assert t.dup2(a, a) == a
    assert t.dup2(9, 9) == -EBADF and t.dup2(9, 3) == -EBADF
    assert t.dup2(a, 4096) == -EBADF


def test_dup3_rejects_equal_fds_and_unknown_flags(kernel):
    t = FdTable()
    a = t.install(_null())
    assert t.dup3(a, a, 0) == -EINVAL
    assert t.dup3(a, 5, 0x1) == -EINVAL
    assert t.dup3(a, 5, O_CLOEXEC) == 5 and t.get_close_on_exec(5)
    assert t.dup(a) == 1 and not t.get_close_on_exec(1)


def test_close_on_exec_closes_only_marked_fds(kernel):
    t = FdTable()
    keep = t.install(_null())
    gone = t.install(_null(), O_CLOEXEC)
    t.set_close_on_exec(keep, False)
    t.do_close_on_exec()
    assert t.fget(keep) is not None and t.fget(gone) is None


def test_fork_shares_files_and_release_runs_at_the_last_close(kernel):
    released = []
    fops = FileOperations(release=lambda inode, f: released.append(f) or 0)
    f = _null()
    f.f_op = fops
    parent = FdTable()
    fd = parent.install(f)
    child = parent.dup_fd()
    assert child.fget(fd) is f and f.f_count == 2
    parent.close_fd(fd)
    assert released == []
    child.close_all()
    assert released == [f]


def test_table_limit_gives_emfile(kernel):
    t = FdTable(max_fds=2)
    t.install(_null())
    t.install(_null())
    f = _null()
    assert t.install(f) == -EMFILE
    fput(f)
    assert t.f_dupfd(0, 0, 0) == -EMFILE
