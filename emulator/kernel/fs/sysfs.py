"""sysfs (fs/sysfs/dir.c, fs/sysfs/file.c, fs/sysfs/symlink.c; the API of
include/linux/sysfs.h): directories of attribute files that drivers create.

An attribute is a `SysfsAttribute(name, mode, show, store)`: `show()` renders the file's
text when it is opened for reading (at most PAGE_SIZE bytes, as sysfs_kf_seq_show allows),
and each write(2) hands its bytes to `store(data)`, which returns the count consumed or
-errno — the contract of a DEVICE_ATTR's show/store. A file without `store`, or whose mode
has no write bit, cannot be opened for writing (-EACCES, kernfs_fop_open); stat() reports
size 4096, as sysfs does. Directories and links are created with `sysfs_create_dir` (parents
as needed) and `sysfs_create_link`; `sysfs_remove_dir` removes a whole subtree. Paths are
relative to /sys ("class/uio/uio0/name").

At boot (`sysfs_init`) the tree has Linux's top-level directories (block, bus, class, dev,
devices, firmware, fs, kernel, module, power) and the one-CPU topology files under
devices/system/cpu: online, possible and present read "0", and cpu0/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SIZE
from emulator.kernel.errno import EACCES, EINVAL, ENOENT, ENOTDIR
from emulator.kernel.fs.inode import (
    FMODE_WRITE,
    S_IFLNK,
    S_IFREG,
    S_ISDIR,
    File,
    FileOperations,
    Inode,
)
from emulator.kernel.fs.libfs import generic_file_llseek, seq_read
from emulator.kernel.fs.namei import new_dir_inode, simple_add_entry, vfs_state

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

SYSFS_TOP = (
    "block",
    "bus",
    "class",
    "dev",
    "devices",
    "firmware",
    "fs",
    "kernel",
    "module",
    "power",
)


@dataclass(frozen=True, slots=True)
class SysfsAttribute:
    """struct attribute + the show/store pair of struct device_attribute/kobj_attribute."""

    name: str
    mode: int = 0o444
    show: Callable[[], str | bytes] | None = None
    store: Callable[[bytes], int] | None = None


def sysfs_kf_open(inode: Inode, file: File) -> int:
    """kernfs_fop_open(): writers need a store and a write bit; readers get show()'s text."""
    attr: SysfsAttribute = inode.i_private
    if file.f_mode & FMODE_WRITE and (attr.store is None or not inode.i_mode & 0o222):
        return -EACCES
    text: str | bytes = b""
    if attr.show is not None:
        text = attr.show()
    data = text.encode() if isinstance(text, str) else bytes(text)
    file.private_data = data[:PAGE_SIZE]
    return 0


def sysfs_kf_write(file: File, data: bytes, pos: int) -> int:
    """kernfs_fop_write_iter(): one store() per write (at most PAGE_SIZE bytes)."""
    attr: SysfsAttribute = file.f_inode.i_private
    if attr.store is None:
        return -EINVAL
    return attr.store(bytes(data[:PAGE_SIZE]))


sysfs_file_operations = FileOperations(
    owner="sysfs",
    open=sysfs_kf_open,
    read=seq_read,
    write=sysfs_kf_write,
    llseek=generic_file_llseek,
)


def _sys_root(kernel: Kernel | None) -> Inode:
    root = vfs_state(kernel).root.children
    assert root is not None
    return root["sys"]


def _walk(path: str, kernel: Kernel | None, create: bool) -> tuple[Inode, str] | int:
    """The directory holding the last component of `path` (created if `create`), and it."""
    *dirs, name = [p for p in path.split("/") if p]
    d = _sys_root(kernel)
    for part in dirs:
        assert d.children is not None
        child = d.children.get(part)
        if child is None:
            if not create:
                return -ENOENT
            child = new_dir_inode(vfs_state(kernel), 0o755, sb="sysfs")
            child.read_only = True
            d.children[part] = child
        if not S_ISDIR(child.i_mode):
            return -ENOTDIR
        d = child
    return d, name


def _add(path: str, inode: Inode, kernel: Kernel | None) -> int:
    r = _walk(path, kernel, create=True)
    return r if isinstance(r, int) else simple_add_entry(*r, inode)


def sysfs_create_dir(path: str, *, kernel: Kernel | None = None) -> int:
    """A directory (and its missing parents); -EEXIST if it is there already."""
    inode = new_dir_inode(vfs_state(kernel), 0o755, sb="sysfs")
    inode.read_only = True
    return _add(path, inode, kernel)


def sysfs_create_file(path: str, attr: SysfsAttribute, *, kernel: Kernel | None = None) -> int:
    """An attribute file at `path`/attr.name."""
    inode = Inode(
        vfs_state(kernel).inos.get_next_ino(),
        S_IFREG | (attr.mode & 0o777),
        i_sb="sysfs",
        i_fop=sysfs_file_operations,
        i_private=attr,
        host_size=PAGE_SIZE,
    )
    return _add(f"{path}/{attr.name}", inode, kernel)


def sysfs_create_group(
    path: str, attrs: tuple[SysfsAttribute, ...], *, kernel: Kernel | None = None
) -> int:
    """sysfs_create_group(): several attributes in one directory (created if needed)."""
    for attr in attrs:
        ret = sysfs_create_file(path, attr, kernel=kernel)
        if ret < 0:
            return ret
    return 0


def sysfs_create_link(path: str, target: str, *, kernel: Kernel | None = None) -> int:
    """A symlink at `path` pointing to `target` (relative, as sysfs writes them, or absolute)."""
    inode = Inode(
        vfs_state(kernel).inos.get_next_ino(), S_IFLNK | 0o777, i_sb="sysfs", i_link=target
    )
    return _add(path, inode, kernel)


def sysfs_remove_dir(path: str, *, kernel: Kernel | None = None) -> int:
    """Remove a file, link or directory with everything under it."""
    r = _walk(path, kernel, create=False)
    if isinstance(r, int):
        return r
    parent, name = r
    assert parent.children is not None
    return 0 if parent.children.pop(name, None) is not None else -ENOENT


sysfs_remove_file = sysfs_remove_link = sysfs_remove_dir


def sysfs_init(kernel: Kernel) -> None:
    """sysfs_init() + the directories the driver core and the CPU subsystem create."""
    for name in SYSFS_TOP:
        sysfs_create_dir(name, kernel=kernel)
    cpu = "devices/system/cpu"
    sysfs_create_dir(f"{cpu}/cpu0", kernel=kernel)
    for name in ("online", "possible", "present"):
        sysfs_create_file(cpu, SysfsAttribute(name, 0o444, lambda: "0\n"), kernel=kernel)
    sysfs_create_dir("kernel/mm", kernel=kernel)
