"""sysfs: the boot tree and the attribute API drivers use (show/store, links, removal)."""

from __future__ import annotations

from emulator.kernel.errno import EACCES, EEXIST, EINVAL, ENOENT
from emulator.kernel.fs.fcntl import O_RDONLY, O_RDWR, O_WRONLY
from emulator.kernel.fs.file_table import fput
from emulator.kernel.fs.inode import File
from emulator.kernel.fs.sysfs import (
    SysfsAttribute,
    sysfs_create_dir,
    sysfs_create_file,
    sysfs_create_group,
    sysfs_create_link,
    sysfs_remove_dir,
)
from emulator.kernel.fs.vfs import (
    vfs_getdents64,
    vfs_open,
    vfs_read,
    vfs_readlink,
    vfs_stat,
    vfs_write,
)


def _read(path: str) -> bytes | int:
    f = vfs_open(path, O_RDONLY)
    if isinstance(f, int):
        return f
    try:
        return vfs_read(f, 8192)
    finally:
        fput(f)


def test_boot_tree_has_linux_top_level_directories_and_one_cpu(kernel):
    for name in ("class", "devices", "bus", "kernel/mm", "devices/system/cpu/cpu0"):
        st = vfs_stat("/sys/" + name)
        assert not isinstance(st, int) and st.mode & 0o170000 == 0o040000
    for name in ("online", "possible", "present"):
        assert _read(f"/sys/devices/system/cpu/{name}") == b"0\n"


def test_an_attribute_shows_at_open_and_stores_each_write(kernel):
    state = {"value": 5, "stores": []}

    def show() -> str:
        return f"{state['value']}\n"

    def store(data: bytes) -> int:
        state["stores"].append(data)
        try:
            state["value"] = int(data)
        except ValueError:
            return -EINVAL
        return len(data)

    attr = SysfsAttribute("enable", 0o644, show, store)
    assert (
        sysfs_create_group(
            "class/demo/demo0", (attr, SysfsAttribute("name", 0o444, lambda: "demo\n"))
        )
        == 0
    )
    assert sysfs_create_file("class/demo/demo0", attr) == -EEXIST
    assert _read("/sys/class/demo/demo0/enable") == b"5\n"
    f = vfs_open("/sys/class/demo/demo0/enable", O_WRONLY)
    assert isinstance(f, File)
    assert vfs_write(f, b"7\n") == 2 and vfs_write(f, b"zz") == -EINVAL
    fput(f)
    assert state["stores"] == [b"7\n", b"zz"]
    assert _read("/sys/class/demo/demo0/enable") == b"7\n"
    st = vfs_stat("/sys/class/demo/demo0/enable")
    assert not isinstance(st, int) and st.size == 4096 and st.mode & 0o777 == 0o644
    assert vfs_open("/sys/class/demo/demo0/name", O_RDWR) == -EACCES  # no store


def test_links_and_removal(kernel):
    assert sysfs_create_dir("devices/platform/demo.0") == 0
    assert sysfs_create_link("class/demo/demo1", "../../devices/platform/demo.0") == 0
    assert vfs_readlink("/sys/class/demo/demo1") == "../../devices/platform/demo.0"
    d = vfs_open("/sys/class/demo", O_RDONLY)
    assert isinstance(d, File)
    names = vfs_getdents64(d, 4096)
    assert isinstance(names, bytes) and b"demo1" in names
    assert sysfs_remove_dir("class/demo") == 0
    assert vfs_stat("/sys/class/demo") == -ENOENT
    assert sysfs_remove_dir("class/demo") == -ENOENT
