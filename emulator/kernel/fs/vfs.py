"""The kernel side of the file system calls (fs/open.c, fs/read_write.c, fs/readdir.c,
fs/stat.c, fs/namei.c's vfs_* half, fs/ioctl.c, init/initramfs.c): what sys_open, sys_read,
sys_getdents64 ... call once the syscall layer has copied the arguments in.

The tree at boot (`vfs_init`, run as a boot hook):

    /           rootfs (in memory; union with the host root when one is mounted)
    /bin        empty: the loader puts the program here (`initramfs_add_file`)
    /dev        devtmpfs: drivers add their nodes (`devtmpfs_create_node`)
    /tmp        tmpfs, mode 1777: regular files and directories can be created and written
    /proc       procfs (fs/proc_fs.py): read-only, generated files
    /sys/class  sysfs (empty for now)

Creation works anywhere in the in-memory tree except /proc and /sys (-EACCES); names that
only the host overlay has are read-only (-EROFS). Paths are `str` (user bytes decoded with
os.fsdecode / surrogateescape); every function returns -errno on failure, as in Linux.

Deviations: no permission checks (every task is root), O_CREAT through a dangling symlink
gives -ENOENT instead of creating the target, no hard links or rename yet, no file locks.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emulator.kernel.core import mm_init_hook
from emulator.kernel.errno import (
    EACCES,
    EBADF,
    EBUSY,
    EEXIST,
    EINVAL,
    EISDIR,
    ELOOP,
    ENOENT,
    ENOIOCTLCMD,
    ENOTDIR,
    ENOTEMPTY,
    ENOTTY,
    EOVERFLOW,
    EROFS,
    ESPIPE,
)
from emulator.kernel.fs.char_dev import def_chr_fops
from emulator.kernel.fs.fcntl import (
    O_ACCMODE,
    O_APPEND,
    O_CREAT,
    O_EXCL,
    O_NOCTTY,
    O_PATH,
    O_TRUNC,
    fcntl_flags,
)
from emulator.kernel.fs.inode import (
    EMPTY_FOPS,
    EPOLLIN,
    EPOLLOUT,
    EPOLLRDNORM,
    EPOLLWRNORM,
    FMODE_LSEEK,
    FMODE_PATH,
    FMODE_PREAD,
    FMODE_PWRITE,
    FMODE_READ,
    FMODE_WRITE,
    S_IFCHR,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    S_ISCHR,
    S_ISDIR,
    S_ISLNK,
    S_ISREG,
    Dentry,
    File,
    FileOperations,
    Inode,
    IoctlResult,
    Kstat,
    generic_fillattr,
)
from emulator.kernel.fs.libfs import ramfs_file_operations
from emulator.kernel.fs.namei import (
    VfsState,
    d_path,
    lookup_one,
    lookup_parent,
    mount_host_root,
    new_dir_inode,
    path_lookup,
    readlink_inode,
    vfs_state,
)

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

__all__ = [
    "Dentry",
    "File",
    "FileOperations",
    "Inode",
    "Kstat",
    "VfsState",
    "d_path",
    "mount_host_root",
    "path_lookup",
    "vfs_state",
]

DEFAULT_POLLMASK = EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM


@mm_init_hook
def vfs_init(kernel: Kernel) -> None:
    """vfs_caches_init() + init_rootfs(): the root, /dev, /tmp, /bin, /sys and /proc."""
    if "vfs" in kernel.subsystems:
        return
    from emulator.kernel.fs.inode import InoAllocator

    inos = InoAllocator()
    state = VfsState(kernel.machine.board.arch, Inode(0, 0), inos=inos)
    state.root = new_dir_inode(state)
    kernel.subsystems["vfs"] = state
    root = state.root.children
    assert root is not None
    root["bin"] = new_dir_inode(state)
    root["dev"] = new_dir_inode(state, sb="devtmpfs")
    root["tmp"] = new_dir_inode(state, 0o1777, sb="tmpfs")
    sys_dir = root["sys"] = new_dir_inode(state, 0o555, sb="sysfs")
    assert sys_dir.children is not None
    sys_dir.children["class"] = new_dir_inode(state, sb="sysfs")
    for inode in (sys_dir, sys_dir.children["class"]):
        inode.read_only = True
    root["proc"] = new_dir_inode(state, 0o555, sb="proc")
    root["proc"].read_only = True
    from emulator.kernel.fs.proc_fs import proc_root_init

    proc_root_init(kernel)


# -- open ------------------------------------------------------------------------------------


def _may_create(parent: Dentry) -> int:
    inode = parent.d_inode
    if inode.i_sb == "host":
        return -EROFS
    if inode.read_only:
        return -EACCES
    return 0


def _create(parent: Dentry, name: str, inode: Inode) -> Dentry | int:
    err = _may_create(parent)
    if err:
        return err
    if name in (".", ".."):
        return -EEXIST
    if lookup_one(vfs_state(), parent, name) is not None:
        return -EEXIST
    assert parent.d_inode.children is not None
    if parent.d_inode.i_sb in ("tmpfs", "devtmpfs") and inode.i_sb == "rootfs":
        inode.i_sb = parent.d_inode.i_sb
    parent.d_inode.children[name] = inode
    return Dentry(name, inode, parent)


def _new_inode(mode: int, sb: str = "rootfs") -> Inode:
    return Inode(vfs_state().inos.get_next_ino(), mode, i_sb=sb)


def vfs_open(
    path: str,
    flags: int,
    mode: int = 0o666,
    *,
    cwd: Dentry | None = None,
    kernel: Kernel | None = None,
) -> File | int:
    """do_filp_open() + do_dentry_open(): open a path; the File or -errno."""
    state = vfs_state(kernel)
    fl = fcntl_flags(state.arch)
    follow = not flags & fl.O_NOFOLLOW
    d = path_lookup(path, follow=follow, cwd=cwd, kernel=kernel)
    if flags & O_CREAT and d == -ENOENT:
        lp = lookup_parent(path, cwd=cwd, kernel=kernel)
        if isinstance(lp, int):
            return lp
        parent, name = lp
        if lookup_one(state, parent, name) is not None:  # a dangling symlink
            return -ENOENT
        inode = _new_inode(S_IFREG | (mode & 0o7777))
        inode.data, inode.i_fop = bytearray(), ramfs_file_operations
        d = _create(parent, name, inode)
    elif flags & O_CREAT and flags & O_EXCL and isinstance(d, Dentry):
        return -EEXIST
    if isinstance(d, int):
        return d
    return dentry_open(d, flags, fl.O_DIRECTORY)


def dentry_open(d: Dentry, flags: int, o_directory: int) -> File | int:
    """do_dentry_open(): a File for a looked-up dentry, running the file's open."""
    inode = d.d_inode
    if flags & O_PATH:
        return File(d, inode, EMPTY_FOPS, flags, FMODE_PATH)
    if S_ISLNK(inode.i_mode):
        return -ELOOP
    if flags & o_directory and not S_ISDIR(inode.i_mode):
        return -ENOTDIR
    acc = flags & O_ACCMODE
    fmode = (FMODE_READ, FMODE_WRITE, FMODE_READ | FMODE_WRITE, 0)[acc]
    if S_ISDIR(inode.i_mode) and (fmode & FMODE_WRITE or flags & (O_CREAT | O_TRUNC)):
        return -EISDIR
    if inode.i_sb == "host" and (fmode & FMODE_WRITE or flags & O_TRUNC):
        return -EROFS
    if flags & O_TRUNC and fmode & FMODE_WRITE and inode.data is not None:
        inode.data.clear()
    file = File(d, inode, inode.i_fop, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC), fmode)
    file.f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE
    if file.f_op.open is not None:
        ret = file.f_op.open(inode, file)
        if ret < 0:
            return ret
    if file.f_op.llseek is None:
        file.f_mode &= ~(FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE)
    return file


# -- read, write, seek, ioctl, poll ----------------------------------------------------------


def vfs_read(file: File, count: int, pos: int | None = None) -> bytes | int:
    """read(2) (pos None) or pread64(2) (pos given: f_pos is left alone)."""
    if not file.f_mode & FMODE_READ:
        return -EBADF
    if S_ISDIR(file.f_inode.i_mode):
        return -EISDIR
    if file.f_op.read is None or count < 0:
        return -EINVAL
    if pos is not None and not file.f_mode & FMODE_PREAD:
        return -ESPIPE
    p = file.f_pos if pos is None else pos
    ret = file.f_op.read(file, count, p)
    if isinstance(ret, int):
        return ret
    ret = bytes(ret[:count])
    if pos is None:
        file.f_pos = p + len(ret)
    return ret


def vfs_write(file: File, data: bytes, pos: int | None = None) -> int:
    """write(2) (pos None) or pwrite64(2): the count written or -errno."""
    if not file.f_mode & FMODE_WRITE:
        return -EBADF
    if file.f_op.write is None:
        return -EINVAL
    if pos is not None and not file.f_mode & FMODE_PWRITE:
        return -ESPIPE
    if pos is None and file.f_flags & O_APPEND and S_ISREG(file.f_inode.i_mode):
        file.f_pos = file.f_inode.i_size
    p = file.f_pos if pos is None else pos
    ret = file.f_op.write(file, bytes(data), p)
    if ret > 0 and pos is None:
        file.f_pos = p + ret
    return ret


def vfs_llseek(file: File, offset: int, whence: int) -> int:
    """lseek(2): the new position, or -ESPIPE for streams (ttys, pipes)."""
    if not file.f_mode & FMODE_LSEEK or file.f_op.llseek is None:
        return -ESPIPE
    return file.f_op.llseek(file, offset, whence)


def vfs_ioctl(file: File, cmd: int, arg: int) -> IoctlResult:
    """fs/ioctl.c vfs_ioctl(): the driver's unlocked_ioctl, -ENOTTY when it has none.
    A tuple result is (return value, bytes to copy to the user pointer `arg`)."""
    if file.f_mode & FMODE_PATH:
        return -EBADF
    if file.f_op.unlocked_ioctl is None:
        return -ENOTTY
    ret = file.f_op.unlocked_ioctl(file, cmd, arg)
    return -ENOTTY if ret == -ENOIOCTLCMD else ret


def vfs_poll(file: File, wait: object = None) -> int:
    """The file's poll mask (EPOLLIN/EPOLLOUT...); files without poll are always ready."""
    if file.f_op.poll is None:
        return DEFAULT_POLLMASK
    return file.f_op.poll(file, wait)


def vfs_fsync(file: File) -> int:
    if file.f_op.fsync is None:
        return 0 if not S_ISCHR(file.f_inode.i_mode) else -EINVAL
    return file.f_op.fsync(file, 0, (1 << 63) - 1, 0)


# -- directories ------------------------------------------------------------------------------


def _readdir(file: File, count: int, record: str) -> bytes | int:
    if not S_ISDIR(file.f_inode.i_mode) or file.f_op.iterate_shared is None:
        return -ENOTDIR
    entries = file.f_op.iterate_shared(file)
    if isinstance(entries, int):
        return entries
    out = bytearray()
    i = max(file.f_pos, 0)
    while i < len(entries):
        name, ino, dtype = entries[i]
        raw = name.encode("utf-8", "surrogateescape")
        if record == "64":  # struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type
            reclen = (19 + len(raw) + 1 + 7) & ~7
            rec = struct.pack("<QqHB", ino, i + 1, reclen, dtype) + raw
        else:  # struct linux_dirent (32-bit): ulong ino, ulong off, u16 reclen, name, 0, type
            if ino > 0xFFFFFFFF:
                return -EOVERFLOW
            reclen = (10 + len(raw) + 2 + 3) & ~3
            rec = struct.pack("<IIH", ino, i + 1, reclen) + raw + b"\0"
            rec = rec.ljust(reclen - 1, b"\0") + bytes([dtype])
        if len(out) + reclen > count:
            break
        out += rec.ljust(reclen, b"\0")
        i += 1
    if not out and i < len(entries):
        return -EINVAL
    file.f_pos = i
    return bytes(out)


def vfs_getdents64(file: File, count: int) -> bytes | int:
    """getdents64(2): struct linux_dirent64 records that fit in `count` bytes (b"" at the
    end; -EINVAL if not even one fits)."""
    return _readdir(file, count, "64")


def vfs_getdents(file: File, count: int) -> bytes | int:
    """getdents(2): the 32-bit struct linux_dirent records (d_type in the last byte)."""
    return _readdir(file, count, "32")


# -- stat, readlink ---------------------------------------------------------------------------


def vfs_stat(path: str, *, cwd: Dentry | None = None) -> Kstat | int:
    d = path_lookup(path, cwd=cwd)
    return d if isinstance(d, int) else generic_fillattr(d.d_inode)


def vfs_lstat(path: str, *, cwd: Dentry | None = None) -> Kstat | int:
    d = path_lookup(path, follow=False, cwd=cwd)
    return d if isinstance(d, int) else generic_fillattr(d.d_inode)


def vfs_fstat(file: File) -> Kstat:
    return generic_fillattr(file.f_inode)


def vfs_readlink(path: str, *, cwd: Dentry | None = None) -> str | int:
    """readlink(2): the link's text; -EINVAL if the path is not a symlink."""
    d = path_lookup(path, follow=False, cwd=cwd)
    if isinstance(d, int):
        return d
    if not S_ISLNK(d.d_inode.i_mode):
        return -EINVAL
    target = readlink_inode(d.d_inode)
    return -ENOENT if target is None else target


# -- namespace changes (in-memory tree only) --------------------------------------------------


def vfs_mkdir(path: str, mode: int = 0o777, *, cwd: Dentry | None = None) -> int:
    lp = lookup_parent(path, cwd=cwd)
    if isinstance(lp, int):
        return lp
    parent, name = lp
    state = vfs_state()
    sb = parent.d_inode.i_sb if parent.d_inode.i_sb in ("tmpfs", "devtmpfs") else "rootfs"
    d = _create(parent, name, new_dir_inode(state, mode & 0o7777, sb))
    return d if isinstance(d, int) else 0


def vfs_mknod(path: str, mode: int, dev: int = 0, *, cwd: Dentry | None = None) -> int:
    """mknod(2) for character devices and regular files."""
    lp = lookup_parent(path, cwd=cwd)
    if isinstance(lp, int):
        return lp
    inode = _new_inode(mode)
    if mode & S_IFMT == S_IFCHR:
        inode.i_rdev, inode.i_fop = dev, def_chr_fops
    elif mode & S_IFMT in (S_IFREG, 0):
        inode.i_mode |= S_IFREG
        inode.data, inode.i_fop = bytearray(), ramfs_file_operations
    else:
        return -EINVAL
    d = _create(lp[0], lp[1], inode)
    return d if isinstance(d, int) else 0


def vfs_symlink(target: str, path: str, *, cwd: Dentry | None = None) -> int:
    lp = lookup_parent(path, cwd=cwd)
    if isinstance(lp, int):
        return lp
    inode = _new_inode(S_IFLNK | 0o777)
    inode.i_link = target
    d = _create(lp[0], lp[1], inode)
    return d if isinstance(d, int) else 0


def _lookup_victim(path: str, cwd: Dentry | None) -> tuple[Dentry, Dentry] | int:
    lp = lookup_parent(path, cwd=cwd)
    if isinstance(lp, int):
        return lp
    parent, name = lp
    if name == ".":
        return -EINVAL
    if name == "..":
        return -ENOTEMPTY
    child = lookup_one(vfs_state(), parent, name)
    if child is None:
        return -ENOENT
    if child.d_inode.i_sb == "host" or parent.d_inode.children is None:
        return -EROFS
    if parent.d_inode.read_only:
        return -EACCES
    return parent, child


def vfs_unlink(path: str, *, cwd: Dentry | None = None) -> int:
    """unlink(2): remove a non-directory from the in-memory tree."""
    v = _lookup_victim(path, cwd)
    if isinstance(v, int):
        return -EISDIR if v == -ENOTEMPTY else v
    parent, child = v
    if S_ISDIR(child.d_inode.i_mode):
        return -EISDIR
    assert parent.d_inode.children is not None
    del parent.d_inode.children[child.d_name]
    child.d_inode.links -= 1
    return 0


def vfs_rmdir(path: str, *, cwd: Dentry | None = None) -> int:
    """rmdir(2): remove an empty in-memory directory."""
    if path.strip("/") == "":
        return -EBUSY
    v = _lookup_victim(path, cwd)
    if isinstance(v, int):
        return v
    parent, child = v
    if not S_ISDIR(child.d_inode.i_mode):
        return -ENOTDIR
    if child.d_inode.children or child.host is not None:
        return -ENOTEMPTY
    assert parent.d_inode.children is not None
    del parent.d_inode.children[child.d_name]
    return 0


def vfs_ftruncate(file: File, length: int) -> int:
    if length < 0:
        return -EINVAL
    if not file.f_mode & FMODE_WRITE or file.f_inode.data is None:
        return -EINVAL if file.f_inode.i_sb != "host" else -EROFS
    data = file.f_inode.data
    if length < len(data):
        del data[length:]
    else:
        data.extend(bytes(length - len(data)))
    return 0


# -- kernel helpers ---------------------------------------------------------------------------


def initramfs_add_file(path: str, data: bytes, mode: int = 0o755) -> int:
    """Put a file into the in-memory tree, creating its directories (populate_rootfs)."""
    parts = [p for p in path.split("/") if p]
    for i in range(1, len(parts)):
        ret = vfs_mkdir("/" + "/".join(parts[:i]), 0o755)
        if ret < 0 and ret != -EEXIST:
            return ret
    vfs_unlink(path)
    ret = vfs_mknod(path, S_IFREG | (mode & 0o7777))
    if ret < 0:
        return ret
    d = path_lookup(path)
    assert isinstance(d, Dentry) and d.d_inode.data is not None
    d.d_inode.data[:] = data
    return 0


def kernel_read_file_from_path(path: str) -> bytes | int:
    """fs/kernel_read_file.c: a whole file's contents (the loader reads programs so)."""
    file = vfs_open(path, 0)
    if isinstance(file, int):
        return file
    out = bytearray()
    try:
        while True:
            chunk = vfs_read(file, 1 << 20)
            if isinstance(chunk, int):
                return chunk
            if not chunk:
                return bytes(out)
            out += chunk
    finally:
        from emulator.kernel.fs.file_table import fput

        fput(file)


def devtmpfs_create_node(name: str, mode: int, dev: int) -> int:
    """drivers/base/devtmpfs.c: /dev/<name> (subdirectories created as needed)."""
    parts = name.split("/")
    for i in range(1, len(parts)):
        vfs_mkdir("/dev/" + "/".join(parts[:i]), 0o755)
    path = "/dev/" + name
    d = path_lookup(path, follow=False)
    if isinstance(d, Dentry):
        if d.d_inode.i_rdev == dev and S_ISCHR(d.d_inode.i_mode):
            return 0
        vfs_unlink(path)
    return vfs_mknod(path, S_IFCHR | (mode & 0o7777), dev)


def devtmpfs_delete_node(name: str) -> int:
    return vfs_unlink("/dev/" + name)
