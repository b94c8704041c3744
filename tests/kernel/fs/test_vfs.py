"""The VFS: path walks, symlinks, the host overlay, directories, stat, /proc."""

from __future__ import annotations

import os
import struct

import emulator.kernel.drivers.char.mem  # noqa: F401 - registers the /dev nodes at boot
from emulator.kernel.errno import EACCES, EEXIST, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTEMPTY, EROFS
from emulator.kernel.fs.fcntl import (
    ARM_FCNTL,
    GENERIC_FCNTL,
    O_APPEND,
    O_CREAT,
    O_EXCL,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    fcntl_flags,
)
from emulator.kernel.fs.inode import (
    DT_DIR,
    DT_REG,
    S_IFCHR,
    S_IFDIR,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    File,
)
from emulator.kernel.fs.namei import d_path, mount_host_root, path_lookup
from emulator.kernel.fs.proc import read_proc
from emulator.kernel.fs.proc_fs import proc_create_single, proc_mkdir, proc_set_self_resolver
from emulator.kernel.fs.vfs import (
    initramfs_add_file,
    kernel_read_file_from_path,
    vfs_getdents64,
    vfs_llseek,
    vfs_lstat,
    vfs_mkdir,
    vfs_open,
    vfs_read,
    vfs_readlink,
    vfs_rmdir,
    vfs_stat,
    vfs_symlink,
    vfs_unlink,
    vfs_write,
)


def _odir(kernel) -> int:
    return fcntl_flags(kernel.machine.board.arch).O_DIRECTORY


def _open(path: str, flags: int = O_RDONLY) -> File:
    f = vfs_open(path, flags)
    assert isinstance(f, File), f
    return f


def _read_all(path: str) -> bytes:
    data = kernel_read_file_from_path(path)
    assert isinstance(data, bytes), data
    return data


def test_arm_redefines_four_open_flags_and_x86_uses_the_generic_values():
    assert fcntl_flags("armv7") is ARM_FCNTL and fcntl_flags("x86") is GENERIC_FCNTL
    assert (ARM_FCNTL.O_DIRECTORY, ARM_FCNTL.O_NOFOLLOW) == (0o40000, 0o100000)
    assert (GENERIC_FCNTL.O_DIRECTORY, GENERIC_FCNTL.O_LARGEFILE) == (0o200000, 0o100000)


def test_boot_tree_has_dev_tmp_proc_sys_and_bin(kernel):
    for path in ("/bin", "/dev", "/tmp", "/proc", "/sys/class"):
        st = vfs_stat(path)
        assert not isinstance(st, int) and st.mode & S_IFMT == S_IFDIR
    st = vfs_stat("/dev/null")
    assert not isinstance(st, int) and st.mode & S_IFMT == S_IFCHR and st.rdev == (1 << 20) | 3


def test_dot_dot_at_the_root_stays_at_the_root(kernel):
    d = path_lookup("/../../tmp/./../dev/../..")
    assert not isinstance(d, int) and d_path(d) == "/"
    d = path_lookup("/../tmp")
    assert not isinstance(d, int) and d_path(d) == "/tmp"


def test_relative_lookups_start_at_cwd_and_missing_names_are_enoent(kernel):
    tmp = path_lookup("/tmp")
    assert not isinstance(tmp, int)
    assert vfs_mkdir("/tmp/a") == 0
    d = path_lookup("a/../a", cwd=tmp)
    assert not isinstance(d, int) and d_path(d) == "/tmp/a"
    assert path_lookup("/tmp/nope") == -ENOENT
    assert path_lookup("/dev/null/x") == -ENOTDIR


def test_symlinks_are_followed_and_loops_give_eloop(kernel):
    assert vfs_symlink("/dev", "/tmp/devlink") == 0
    assert vfs_symlink("loop2", "/tmp/loop1") == 0
    assert vfs_symlink("loop1", "/tmp/loop2") == 0
    d = path_lookup("/tmp/devlink/null")
    assert not isinstance(d, int) and d.d_inode.i_rdev == (1 << 20) | 3
    assert vfs_readlink("/tmp/devlink") == "/dev"
    assert path_lookup("/tmp/loop1") == -ELOOP
    assert vfs_open("/tmp/loop1", O_RDONLY) == -ELOOP
    st = vfs_lstat("/tmp/loop1")
    assert not isinstance(st, int) and st.mode & S_IFMT == S_IFLNK and st.size == len("loop2")


def test_tmp_files_are_created_written_appended_and_truncated(kernel):
    f = _open("/tmp/f", O_CREAT | O_RDWR)
    assert vfs_write(f, b"hello") == 5
    assert vfs_llseek(f, 0, 0) == 0
    assert vfs_read(f, 100) == b"hello"
    assert vfs_open("/tmp/f", O_CREAT | O_EXCL | O_WRONLY) == -EEXIST
    g = _open("/tmp/f", O_WRONLY | O_APPEND)
    assert vfs_write(g, b" world") == 6
    assert _read_all("/tmp/f") == b"hello world"
    assert vfs_write(f, b"X", pos=20) == 1 and f.f_pos == 5
    st = vfs_stat("/tmp/f")
    assert not isinstance(st, int) and st.size == 21 and st.mode & S_IFMT == S_IFREG
    _open("/tmp/f", O_WRONLY | O_TRUNC)
    assert _read_all("/tmp/f") == b""


def test_mkdir_unlink_rmdir_follow_linux_errors(kernel):
    assert vfs_mkdir("/tmp/d") == 0
    assert vfs_mkdir("/tmp/d") == -EEXIST
    assert initramfs_add_file("/tmp/d/x", b"1") == 0
    assert vfs_rmdir("/tmp/d") == -ENOTEMPTY
    assert vfs_unlink("/tmp/d") == -EISDIR
    assert vfs_unlink("/tmp/d/x") == 0
    assert vfs_rmdir("/tmp/d") == 0
    assert vfs_mkdir("/proc/x") == -EACCES
    assert vfs_open("/tmp", O_WRONLY) == -EISDIR
    assert vfs_open("/dev/null", O_RDONLY | _odir(kernel)) == -ENOTDIR


def test_initramfs_add_file_puts_a_program_in_bin(kernel):
    assert initramfs_add_file("/bin/prog", b"\x7fELF...") == 0
    assert _read_all("/bin/prog") == b"\x7fELF..."
    st = vfs_stat("/bin/prog")
    assert not isinstance(st, int) and st.mode == S_IFREG | 0o755


def test_getdents64_records_are_linux_dirent64_byte_for_byte(kernel):
    assert vfs_mkdir("/tmp/g") == 0
    assert initramfs_add_file("/tmp/g/a", b"") == 0
    assert vfs_mkdir("/tmp/g/bc") == 0
    ino = {p: vfs_stat(p).ino for p in ("/tmp", "/tmp/g", "/tmp/g/a", "/tmp/g/bc")}  # type: ignore[union-attr]
    expected = b"".join(
        struct.pack("<QqHB", i, off, 24, t) + name + b"\0" * (5 - len(name))
        for i, off, t, name in (
            (ino["/tmp/g"], 1, DT_DIR, b"."),
            (ino["/tmp"], 2, DT_DIR, b".."),
            (ino["/tmp/g/a"], 3, DT_REG, b"a"),
            (ino["/tmp/g/bc"], 4, DT_DIR, b"bc"),
        )
    )
    f = _open("/tmp/g", O_RDONLY | _odir(kernel))
    assert vfs_getdents64(f, 4096) == expected
    assert vfs_getdents64(f, 4096) == b""
    assert vfs_llseek(f, 0, 0) == 0
    assert vfs_getdents64(f, 50) == expected[:48]  # two records fit
    assert vfs_getdents64(f, 10) == -22  # -EINVAL: not even one fits


def test_proc_meminfo_through_the_vfs_matches_read_proc(kernel):
    f = _open("/proc/meminfo")
    data = vfs_read(f, 1 << 16)
    assert data == read_proc("meminfo").encode()
    st = vfs_stat("/proc/meminfo")
    assert not isinstance(st, int) and st.size == 0  # as in Linux
    assert vfs_write(f, b"x") == -9  # -EBADF: opened read-only


def test_proc_version_cpuinfo_uptime_interrupts_render(kernel):
    assert _read_all("/proc/version").startswith(
        b"Linux version 6.1.0-soclab (soclab@soclab) (Python) #1 SMP"
    )
    cpu = _read_all("/proc/cpuinfo")
    assert cpu.startswith(b"processor\t: 0\n")
    assert (b"ARMv7 Processor rev 0 (v7l)" in cpu) == (kernel.machine.board.arch == "armv7")
    up = _read_all("/proc/uptime").decode()
    assert up.endswith("\n") and len(up.split()) == 2 and all("." in x for x in up.split())
    interrupts = _read_all("/proc/interrupts")
    assert interrupts.startswith(b"           CPU0       \n")
    err = b"Err" if kernel.machine.board.arch == "armv7" else b"ERR"
    assert interrupts.endswith(err + b":          0\n")


def test_proc_self_follows_the_resolver_set_by_the_process_layer(kernel):
    assert vfs_readlink("/proc/self") == -ENOENT
    assert path_lookup("/proc/self/status") == -ENOENT
    assert proc_mkdir("42") == 0
    assert proc_create_single("42/status", lambda: "Name:\tinit\n") == 0
    proc_set_self_resolver(lambda: "42")
    assert vfs_readlink("/proc/self") == "42"
    assert _read_all("/proc/self/status") == b"Name:\tinit\n"


def test_host_root_overlay_is_read_only_and_confined(kernel, tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "bin").mkdir()
    (root / "bin" / "busybox").write_bytes(b"BB")
    (root / "etc" / "abs").symlink_to("/etc/passwd")  # absolute: inside the root, like chroot
    (root / "etc" / "up").symlink_to("../../../../../../etc/passwd")
    (root / "escape").symlink_to(str(tmp_path))
    (tmp_path / "secret").write_text("outside")
    mount_host_root(root)
    assert _read_all("/etc/passwd") == b"root:x:0:0::/root:/bin/sh\n"
    assert _read_all("/etc/abs") == b"root:x:0:0::/root:/bin/sh\n"
    assert _read_all("/etc/up") == b"root:x:0:0::/root:/bin/sh\n"
    assert _read_all("/../../../etc/passwd") == b"root:x:0:0::/root:/bin/sh\n"
    assert path_lookup("/escape/secret") == -ENOENT  # tmp_path is resolved inside the root
    assert path_lookup("/../secret") == -ENOENT
    assert vfs_open("/etc/passwd", O_WRONLY) == -EROFS
    assert vfs_open("/etc/new", O_CREAT | O_WRONLY) == -EROFS
    assert vfs_unlink("/etc/passwd") == -EROFS
    # /bin is a union of the in-memory directory and the host's
    assert initramfs_add_file("/bin/prog", b"P") == 0
    f = _open("/bin", O_RDONLY | _odir(kernel))
    data = vfs_getdents64(f, 4096)
    assert isinstance(data, bytes)
    names, off = [], 0
    while off < len(data):
        reclen = struct.unpack_from("<H", data, off + 16)[0]
        names.append(data[off + 19 : off + reclen].rstrip(b"\0"))
        off += reclen
    assert names == [b".", b"..", b"prog", b"busybox"]
    assert os.path.exists(root / "etc")
