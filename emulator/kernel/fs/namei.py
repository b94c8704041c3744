"""Path lookup (fs/namei.c) over the in-memory tree and the read-only host overlay.

Design: a walk keeps a chain of `Dentry` objects from the root, so `..` is the parent link
(the root is its own parent, as in a chroot) and no step ever consults the host's idea of
the path. Each component is looked up in the in-memory directory first; when the tree has
no such name and the directory is backed by a host directory (`mount_host_root`), the host
entry is used through `os.lstat` of that single name. Host symlinks are read with
`os.readlink` and resolved by this walk — absolute targets from the model's root, relative
targets from the link's directory — so nothing outside the host root is reachable, exactly
as inside chroot(2). /proc's magic links (`i_get_link`) jump straight to the dentry they
name, whatever its path. Symlinks are followed at most MAXSYMLINKS (40) times per lookup
(-ELOOP past that). Names longer than NAME_MAX (255) give -ENAMETOOLONG.

A name present in both the tree and the host directory is the tree's; when both are
directories they form a union (the in-memory /bin shows the host's /bin entries too).

Not modelled: mount points other than the overlay, permission checks, RCU-walk.
"""

from __future__ import annotations

import os
import stat as host_stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import current_kernel
from emulator.kernel.errno import EEXIST, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR
from emulator.kernel.fs.inode import (
    S_IFDIR,
    S_IFMT,
    S_ISDIR,
    S_ISLNK,
    Dentry,
    InoAllocator,
    Inode,
)

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

MAXSYMLINKS = 40
NAME_MAX = 255
PATH_MAX = 4096


@dataclass
class VfsState:
    """The mount namespace: the root directory, the host overlay and the inode numbers."""

    arch: str
    root: Inode
    host_root: str | None = None
    inos: InoAllocator = field(default_factory=InoAllocator)

    def root_dentry(self) -> Dentry:
        return Dentry("/", self.root, None, self.host_root)


def vfs_state(kernel: Kernel | None = None) -> VfsState:
    """The VFS of a kernel (the current one by default), created on first use."""
    from emulator.kernel.fs.vfs import vfs_init

    k = kernel or current_kernel()
    state = k.subsystems.get("vfs")
    if state is None:
        vfs_init(k)
        state = k.subsystems["vfs"]
    assert isinstance(state, VfsState)
    return state


def mount_host_root(directory: str | os.PathLike[str], kernel: Kernel | None = None) -> None:
    """Make a host directory the root for names the in-memory tree does not have
    (read-only; nothing outside it can be reached)."""
    path = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(path):
        raise NotADirectoryError(path)
    vfs_state(kernel).host_root = path


def host_inode(state: VfsState, path: str, st: os.stat_result) -> Inode:
    """The inode standing for a host file (one per host path, numbered on first sight)."""
    from emulator.kernel.fs.libfs import host_dir_operations, host_file_operations

    inode = state.inos.by_host_path.get(path)
    fmt = host_stat.S_IFMT(st.st_mode)
    if inode is not None and inode.i_mode & S_IFMT == fmt:
        inode.host_size = st.st_size if host_stat.S_ISREG(st.st_mode) else 0
        return inode
    mode = fmt | (st.st_mode & 0o7777)
    inode = Inode(state.inos.get_next_ino(), mode, i_sb="host", host_path=path, read_only=True)
    if host_stat.S_ISDIR(st.st_mode):
        inode.children = {}
        inode.i_fop = host_dir_operations
    elif host_stat.S_ISREG(st.st_mode):
        inode.host_size = st.st_size
        inode.i_fop = host_file_operations
    elif host_stat.S_ISLNK(st.st_mode):
        inode.i_link = os.readlink(path)
    elif host_stat.S_ISCHR(st.st_mode):
        from emulator.kernel.fs.char_dev import MKDEV, def_chr_fops

        inode.i_rdev = MKDEV(os.major(st.st_rdev), os.minor(st.st_rdev))
        inode.i_fop = def_chr_fops
    state.inos.by_host_path[path] = inode
    return inode


def lookup_one(state: VfsState, parent: Dentry, name: str) -> Dentry | None:
    """lookup_one_len(): one name in a directory (tree first, then the host directory)."""
    children = parent.d_inode.children
    mem = children.get(name) if children is not None else None
    host_child: str | None = None
    st: os.stat_result | None = None
    if parent.host is not None:
        candidate = os.path.join(parent.host, name)
        try:
            st = os.lstat(candidate)
            host_child = candidate
        except OSError:
            st = None
    if mem is not None:
        union = (
            host_child if (S_ISDIR(mem.i_mode) and st and host_stat.S_ISDIR(st.st_mode)) else None
        )
        return Dentry(name, mem, parent, union)
    if host_child is None or st is None:
        return None
    inode = host_inode(state, host_child, st)
    return Dentry(name, inode, parent, host_child if S_ISDIR(inode.i_mode) else None)


def readlink_inode(inode: Inode) -> str | None:
    """The text of a symlink (None when a /proc/self-style link has no target now); a magic
    link reads as its target's path (or its name, for pipes: "pipe:[ino]")."""
    if inode.i_get_link is not None:
        target = inode.i_get_link()
        if target is None:
            return None
        return d_path(target) if target.d_parent is not None else target.d_name
    link = inode.i_link
    if callable(link):
        return link()
    return link


class _Walk:
    def __init__(self, state: VfsState) -> None:
        self.state = state
        self.links = 0


def path_lookup(
    path: str,
    *,
    follow: bool = True,
    cwd: Dentry | None = None,
    kernel: Kernel | None = None,
) -> Dentry | int:
    """kern_path(): the dentry a path names, or -errno. `cwd` is where relative paths start
    (the task's working directory, or the directory of an openat() dirfd); `follow=False`
    leaves a final symlink unresolved (lstat, readlink, O_NOFOLLOW)."""
    state = vfs_state(kernel)
    if path == "":
        return -ENOENT
    if len(path) >= PATH_MAX:
        return -ENAMETOOLONG
    start = state.root_dentry() if path.startswith("/") or cwd is None else cwd
    return _walk(_Walk(state), start, path, follow)


def _walk(w: _Walk, start: Dentry, path: str, follow: bool) -> Dentry | int:
    d = start
    names = [n for n in path.split("/") if n]
    if path.endswith("/"):
        follow = True
    for i, name in enumerate(names):
        if not S_ISDIR(d.d_inode.i_mode):
            return -ENOTDIR
        if name == ".":
            continue
        if name == "..":
            d = d.d_parent or d
            continue
        if len(name) > NAME_MAX:
            return -ENAMETOOLONG
        child = lookup_one(w.state, d, name)
        if child is None:
            return -ENOENT
        last = i == len(names) - 1
        if S_ISLNK(child.d_inode.i_mode) and (follow or not last):
            w.links += 1
            if w.links > MAXSYMLINKS:
                return -ELOOP
            if child.d_inode.i_get_link is not None:  # a magic link: jump to the dentry
                jump = child.d_inode.i_get_link()
                if jump is None:
                    return -ENOENT
                d = jump
                continue
            target = readlink_inode(child.d_inode)
            if target is None or target == "":
                return -ENOENT
            base = w.state.root_dentry() if target.startswith("/") else d
            resolved = _walk(w, base, target, True)
            if isinstance(resolved, int):
                return resolved
            child = resolved
        d = child
    if path.endswith("/") and not S_ISDIR(d.d_inode.i_mode):
        return -ENOTDIR
    return d


def lookup_parent(
    path: str, *, cwd: Dentry | None = None, kernel: Kernel | None = None
) -> tuple[Dentry, str] | int:
    """The directory that would hold the last component of `path`, and that name (for
    create, mkdir, unlink, symlink): -ENOENT if the directory is missing, -EEXIST-style
    decisions are the caller's."""
    stripped = path.rstrip("/")
    if stripped == "":
        return -ENOENT if path == "" else (vfs_state(kernel).root_dentry(), ".")
    head, _, name = stripped.rpartition("/")
    if "/" not in stripped:
        head = ""
    elif head == "":
        head = "/"
    if head == "":
        parent: Dentry | int = cwd if cwd is not None else vfs_state(kernel).root_dentry()
    else:
        parent = path_lookup(head, cwd=cwd, kernel=kernel)
    if isinstance(parent, int):
        return parent
    if not S_ISDIR(parent.d_inode.i_mode):
        return -ENOTDIR
    if len(name) > NAME_MAX:
        return -ENAMETOOLONG
    return parent, name


def d_path(dentry: Dentry) -> str:
    """The absolute path of a dentry, as getcwd() and /proc/<pid>/maps print it."""
    names: list[str] = []
    d: Dentry | None = dentry
    while d is not None and d.d_parent is not None:
        names.append(d.d_name)
        d = d.d_parent
    return "/" + "/".join(reversed(names))


def new_dir_inode(state: VfsState, perm: int = 0o755, sb: str = "rootfs") -> Inode:
    """A fresh, empty in-memory directory inode."""
    from emulator.kernel.fs.libfs import simple_dir_operations

    return Inode(
        state.inos.get_next_ino(), S_IFDIR | perm, i_sb=sb, children={}, i_fop=simple_dir_operations
    )


def simple_add_entry(parent: Inode, name: str, inode: Inode) -> int:
    """`inode` as `name` in the in-memory directory `parent`, as proc_register() and
    kernfs_add_one() link a new entry; -EEXIST if the name is taken."""
    assert parent.children is not None
    if name in parent.children:
        return -EEXIST
    parent.children[name] = inode
    return 0
