"""The file operations of the model's own file systems (fs/libfs.c, fs/read_write.c,
fs/ramfs/file-mmu.c, fs/seq_file.c): in-memory regular files and directories, procfs-style
files, and the read-only host overlay.

- ramfs: `Inode.data` is the file; writes extend it (zero-filling holes).
- procfs-style files are generated once at open into `File.private_data`, as a seq_file
  renders its buffer on the first read; stat() reports size 0, as /proc does.
- host files are read in full at open (the overlay is read-only; binaries are small).
- directories list ".", "..", the in-memory entries in creation order, then the host entries
  not shadowed by them, sorted by name so listings are the same on every host.
"""

from __future__ import annotations

import os

from emulator.kernel.errno import EINVAL, ENXIO, EROFS
from emulator.kernel.fs.fcntl import SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET
from emulator.kernel.fs.inode import DT_DIR, S_DT, File, FileOperations, Inode
from emulator.kernel.mm.filemap import generic_file_mmap

MAX_LFS_FILESIZE = (1 << 63) - 1


def simple_read_from_buffer(buf: bytes | bytearray, count: int, pos: int) -> bytes:
    """fs/libfs.c: the bytes of `buf` from `pos`, at most `count`."""
    if pos < 0:
        return b""
    return bytes(buf[pos : pos + count])


def vfs_setpos(file: File, offset: int, maxsize: int = MAX_LFS_FILESIZE) -> int:
    """fs/read_write.c vfs_setpos(): set f_pos if it is in range."""
    if offset < 0 or offset > maxsize:
        return -EINVAL
    file.f_pos = offset
    return offset


def generic_file_llseek_size(file: File, offset: int, whence: int, eof: int) -> int:
    """fs/read_write.c: SEEK_SET/CUR/END/DATA/HOLE against a file of size `eof`."""
    if whence == SEEK_SET:
        return vfs_setpos(file, offset)
    if whence == SEEK_CUR:
        return vfs_setpos(file, file.f_pos + offset)
    if whence == SEEK_END:
        return vfs_setpos(file, eof + offset)
    if whence == SEEK_DATA:
        return -ENXIO if offset < 0 or offset >= eof else vfs_setpos(file, offset)
    if whence == SEEK_HOLE:
        return -ENXIO if offset < 0 or offset >= eof else vfs_setpos(file, eof)
    return -EINVAL


def _file_size(file: File) -> int:
    if isinstance(file.private_data, (bytes, bytearray)):
        return len(file.private_data)
    return file.f_inode.i_size


def generic_file_llseek(file: File, offset: int, whence: int) -> int:
    """fs/read_write.c generic_file_llseek()."""
    return generic_file_llseek_size(file, offset, whence, _file_size(file))


def noop_llseek(file: File, offset: int, whence: int) -> int:
    """fs/read_write.c: seeking succeeds and changes nothing."""
    return file.f_pos


def null_lseek(file: File, offset: int, whence: int) -> int:
    """drivers/char/mem.c null_lseek(): always back to 0."""
    file.f_pos = 0
    return 0


# -- ramfs regular files -------------------------------------------------------------------


def ramfs_read(file: File, count: int, pos: int) -> bytes | int:
    data = file.f_inode.data
    return simple_read_from_buffer(data if data is not None else b"", count, pos)


def ramfs_write(file: File, data: bytes, pos: int) -> int:
    buf = file.f_inode.data
    if buf is None:
        return -EINVAL
    if pos > len(buf):
        buf.extend(bytes(pos - len(buf)))
    buf[pos : pos + len(data)] = data
    return len(data)


ramfs_file_operations = FileOperations(
    owner="ramfs",
    llseek=generic_file_llseek,
    read=ramfs_read,
    write=ramfs_write,
    mmap=generic_file_mmap,
)


# -- procfs-style and host files: a snapshot taken at open -------------------------------------


def proc_single_open(inode: Inode, file: File) -> int:
    """fs/proc/generic.c single_open(): render the file's text now."""
    assert inode.proc_show is not None
    text = inode.proc_show()
    file.private_data = text.encode() if isinstance(text, str) else bytes(text)
    return 0


def seq_read(file: File, count: int, pos: int) -> bytes | int:
    """fs/seq_file.c: read the rendered buffer."""
    return simple_read_from_buffer(file.private_data, count, pos)


proc_file_operations = FileOperations(
    owner="proc", open=proc_single_open, read=seq_read, llseek=generic_file_llseek
)


def host_file_open(inode: Inode, file: File) -> int:
    assert inode.host_path is not None
    try:
        with open(inode.host_path, "rb") as f:
            file.private_data = f.read()
    except OSError as exc:
        return -(exc.errno or ENXIO)
    return 0


def host_file_write(file: File, data: bytes, pos: int) -> int:
    return -EROFS


host_file_operations = FileOperations(
    owner="host",
    open=host_file_open,
    read=seq_read,
    write=host_file_write,
    llseek=generic_file_llseek,
    mmap=generic_file_mmap,
)


# -- directories ----------------------------------------------------------------------------


def dcache_readdir(file: File) -> list[tuple[str, int, int]] | int:
    """fs/libfs.c dcache_readdir(): the entries of a directory as (name, ino, d_type)."""
    from emulator.kernel.fs.namei import host_inode, vfs_state

    d = file.f_path
    parent = d.d_parent or d
    entries = [(".", d.d_inode.i_ino, DT_DIR), ("..", parent.d_inode.i_ino, DT_DIR)]
    children = d.d_inode.children or {}
    for name, inode in children.items():
        entries.append((name, inode.i_ino, S_DT(inode.i_mode)))
    if d.host is not None:
        state = vfs_state()
        try:
            names = sorted(os.listdir(d.host))
        except OSError:
            names = []
        for name in names:
            if name in children:
                continue
            path = os.path.join(d.host, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            inode = host_inode(state, path, st)
            entries.append((name, inode.i_ino, S_DT(inode.i_mode)))
    return entries


def dcache_dir_lseek(file: File, offset: int, whence: int) -> int:
    """fs/libfs.c: a directory's position is an entry index (SEEK_SET/SEEK_CUR only)."""
    if whence == SEEK_CUR:
        offset += file.f_pos
    elif whence != SEEK_SET:
        return -EINVAL
    return vfs_setpos(file, offset)


simple_dir_operations = FileOperations(
    owner="libfs", llseek=dcache_dir_lseek, iterate_shared=dcache_readdir
)
host_dir_operations = FileOperations(
    owner="host", llseek=dcache_dir_lseek, iterate_shared=dcache_readdir
)
