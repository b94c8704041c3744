"""The /proc file system's tree (fs/proc/root.c, fs/proc/generic.c, fs/proc/self.c; the API
of include/linux/proc_fs.h).

Every file is generated when it is opened (`proc_create_single`: a show callable returning
the text), as single_open() does; stat() reports size 0. The renderers live in
fs/proc.py. /proc/self is a symlink whose target the process layer provides through
`proc_set_self_resolver(fn)`: `fn()` returns the link text — the current pid as a string,
as Linux's /proc/self does — or None when there is no current process (the link then
resolves to -ENOENT). The process layer creates /proc/<pid>/ with `proc_mkdir` and
`proc_create_single` and removes it with `remove_proc_subtree`.

Paths given to these functions are relative to /proc ("1/maps").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from emulator.kernel.errno import ENOENT, ENOTDIR
from emulator.kernel.fs import proc
from emulator.kernel.fs.inode import S_IFLNK, S_IFREG, S_ISDIR, Dentry, Inode
from emulator.kernel.fs.libfs import proc_file_operations
from emulator.kernel.fs.namei import new_dir_inode, simple_add_entry, vfs_state

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

_ROOT_FILES: dict[str, Callable[[], str]] = {
    "version": proc.version,
    "cpuinfo": proc.cpuinfo,
    "uptime": proc.uptime,
    "interrupts": proc.interrupts,
    "mounts": proc.mounts,
    "stat": proc.stat,
    "loadavg": proc.loadavg,
}


def _read_proc(name: str) -> Callable[[], str]:
    return lambda: proc.read_proc(name)


def proc_root_init(kernel: Kernel) -> None:
    """fs/proc/root.c: the top-level files and the self link (vfs_init calls this)."""
    for name in proc.PROC_FILES:
        proc_create_single(name, _read_proc(name), kernel=kernel)
    for name, show in _ROOT_FILES.items():
        proc_create_single(name, show, kernel=kernel)
    proc_symlink("self", _self_target, kernel=kernel)


def _self_target() -> str | None:
    resolver = proc.proc_state().self_resolver
    return resolver() if resolver is not None else None


def proc_set_self_resolver(fn: Callable[[], str | None] | None) -> None:
    """Let the process layer say what /proc/self points at (the current pid as text)."""
    proc.proc_state().self_resolver = fn


def _parent_dir(path: str, kernel: Kernel | None) -> tuple[Inode, str] | int:
    proc_dir = vfs_state(kernel).root.children["proc"]  # type: ignore[index]
    *dirs, name = [p for p in path.split("/") if p]
    d = proc_dir
    for part in dirs:
        child = (d.children or {}).get(part)
        if child is None:
            return -ENOENT
        if not S_ISDIR(child.i_mode):
            return -ENOTDIR
        d = child
    return d, name


def _add(path: str, inode: Inode, kernel: Kernel | None) -> int:
    r = _parent_dir(path, kernel)
    return r if isinstance(r, int) else simple_add_entry(*r, inode)


def proc_create_single(
    name: str, show: Callable[[], str | bytes], mode: int = 0o444, *, kernel: Kernel | None = None
) -> int:
    """A /proc file whose text `show()` renders at each open."""
    state = vfs_state(kernel)
    inode = Inode(state.inos.get_next_ino(), S_IFREG | mode, i_sb="proc", proc_show=show)
    inode.i_fop = proc_file_operations
    return _add(name, inode, kernel)


def proc_mkdir(name: str, *, kernel: Kernel | None = None) -> int:
    inode = new_dir_inode(vfs_state(kernel), 0o555, sb="proc")
    inode.read_only = True
    return _add(name, inode, kernel)


def proc_symlink(
    name: str, target: str | Callable[[], str | None], *, kernel: Kernel | None = None
) -> int:
    """A /proc symlink; `target` may be a callable evaluated at each lookup."""
    state = vfs_state(kernel)
    inode = Inode(state.inos.get_next_ino(), S_IFLNK | 0o777, i_sb="proc", i_link=target)
    return _add(name, inode, kernel)


def remove_proc_subtree(name: str, *, kernel: Kernel | None = None) -> int:
    """Remove a /proc entry and everything under it."""
    r = _parent_dir(name, kernel)
    if isinstance(r, int):
        return r
    parent, leaf = r
    assert parent.children is not None
    if parent.children.pop(leaf, None) is None:
        return -ENOENT
    return 0


remove_proc_entry = remove_proc_subtree


def proc_magic_link(
    name: str, get_link: Callable[[], Dentry | None], *, kernel: Kernel | None = None
) -> int:
    """A /proc magic link (exe, cwd, fd/N): lookup jumps to the dentry `get_link()` gives
    (-ENOENT when None); readlink shows that dentry's path."""
    state = vfs_state(kernel)
    inode = Inode(state.inos.get_next_ino(), S_IFLNK | 0o777, i_sb="proc", i_get_link=get_link)
    return _add(name, inode, kernel)


class ProcDynamicDir(dict[str, Inode]):
    """The entries of a /proc directory whose contents change with the process (fs/proc/fd.c
    proc_readfd/proc_lookupfd): `populate()` gives the current name → inode map at every
    lookup and readdir."""

    def __init__(self, populate: Callable[[], dict[str, Inode]]) -> None:
        super().__init__()
        self.populate = populate

    def _refresh(self) -> None:
        dict.clear(self)
        dict.update(self, self.populate())

    def get(self, key: str, default: Any = None) -> Any:
        self._refresh()
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> Inode:
        self._refresh()
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self._refresh()
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._refresh()
        return iter(list(dict.keys(self)))

    def __len__(self) -> int:
        self._refresh()
        return dict.__len__(self)

    def items(self) -> Any:
        self._refresh()
        return list(dict.items(self))

    def values(self) -> Any:
        self._refresh()
        return list(dict.values(self))

    def keys(self) -> Any:
        self._refresh()
        return list(dict.keys(self))


def proc_dynamic_dir(
    name: str, populate: Callable[[], dict[str, Inode]], *, kernel: Kernel | None = None
) -> int:
    inode = new_dir_inode(vfs_state(kernel), 0o500, sb="proc")
    inode.read_only = True
    inode.children = ProcDynamicDir(populate)
    return _add(name, inode, kernel)
