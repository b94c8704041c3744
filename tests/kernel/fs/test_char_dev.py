"""Character device numbers, cdev dispatch, misc devices, and the memory devices."""

from __future__ import annotations

import pytest

import emulator.kernel.drivers.char.mem  # noqa: F401 - registers the /dev nodes at boot
import emulator.kernel.drivers.char.misc  # noqa: F401
from emulator.kernel.drivers.char.misc import Miscdevice, misc_deregister, misc_register
from emulator.kernel.errno import EBUSY, ENOENT, ENOSPC, ENOTTY, ENXIO
from emulator.kernel.fs.char_dev import (
    MAJOR,
    MINOR,
    MKDEV,
    Cdev,
    alloc_chrdev_region,
    cdev_add,
    cdev_del,
    cdev_init,
    new_encode_dev,
    register_chrdev_region,
    unregister_chrdev_region,
)
from emulator.kernel.fs.fcntl import O_RDONLY, O_RDWR, O_WRONLY
from emulator.kernel.fs.inode import S_IFCHR, File, FileOperations, Inode
from emulator.kernel.fs.vfs import (
    vfs_ioctl,
    vfs_llseek,
    vfs_mknod,
    vfs_open,
    vfs_read,
    vfs_stat,
    vfs_write,
)


def _open(path: str, flags: int = O_RDWR) -> File:
    f = vfs_open(path, flags)
    assert isinstance(f, File), f
    return f


def test_dev_t_encoding_matches_kdev_t_h():
    dev = MKDEV(4, 64)
    assert (MAJOR(dev), MINOR(dev)) == (4, 64) and dev == 0x400040
    assert new_encode_dev(MKDEV(1, 3)) == 0x103
    assert new_encode_dev(MKDEV(10, 300)) == (300 & 0xFF) | (10 << 8) | ((300 & ~0xFF) << 12)


def test_fixed_regions_conflict_and_dynamic_majors_count_down_from_254(kernel):
    assert register_chrdev_region(MKDEV(200, 0), 4, "a") == 0
    assert register_chrdev_region(MKDEV(200, 3), 1, "b") == -EBUSY
    ret, dev = alloc_chrdev_region(0, 2, "dyn1")
    ret2, dev2 = alloc_chrdev_region(5, 1, "dyn2")
    assert (ret, MAJOR(dev), MINOR(dev)) == (0, 254, 0)
    assert (ret2, MAJOR(dev2), MINOR(dev2)) == (0, 253, 5)
    unregister_chrdev_region(dev, 2)
    assert alloc_chrdev_region(0, 1, "dyn3") == (0, MKDEV(254, 0))


def test_a_driver_registered_with_cdev_add_serves_its_node(kernel):
    opened: list[int] = []
    store = bytearray()

    def demo_open(inode: Inode, file: File) -> int:
        opened.append(MINOR(inode.i_rdev))
        file.private_data = store
        return 0

    def demo_write(file: File, data: bytes, pos: int) -> int:
        file.private_data += data
        return len(data)

    def demo_read(file: File, count: int, pos: int) -> bytes | int:
        return bytes(file.private_data[:count])

    fops = FileOperations(owner="demo", open=demo_open, read=demo_read, write=demo_write)
    ret, dev = alloc_chrdev_region(0, 2, "demo")
    assert ret == 0
    cdev = Cdev()
    cdev_init(cdev, fops)
    assert cdev_add(cdev, dev, 2) == 0
    assert vfs_mknod("/dev/demo1", S_IFCHR | 0o600, dev + 1) == 0
    f = _open("/dev/demo1")
    assert opened == [1] and f.f_op is fops
    assert vfs_write(f, b"abc") == 3
    assert vfs_read(f, 2) == b"ab"
    assert vfs_llseek(f, 0, 0) == -29  # -ESPIPE: the driver has no llseek
    assert vfs_ioctl(f, 0x1234, 0) == -ENOTTY
    cdev_del(cdev)
    assert vfs_open("/dev/demo1", O_RDWR) == -ENXIO


def test_a_node_without_a_driver_gives_enxio(kernel):
    assert vfs_mknod("/dev/nothing", S_IFCHR | 0o600, MKDEV(123, 0)) == 0
    assert vfs_open("/dev/nothing", O_RDONLY) == -ENXIO


def test_misc_register_gives_dynamic_minors_and_a_node(kernel):
    fops = FileOperations(owner="m", read=lambda f, n, p: b"misc")
    a, b = Miscdevice("miscA", fops), Miscdevice("miscB", fops)
    assert misc_register(a) == 0 and misc_register(b) == 0
    assert (a.minor, b.minor) == (127, 126)
    st = vfs_stat("/dev/miscA")
    assert not isinstance(st, int) and st.rdev == MKDEV(10, 127)
    f = _open("/dev/miscA", O_RDONLY)
    assert f.private_data is a and vfs_read(f, 10) == b"misc"
    assert misc_register(Miscdevice("clash", fops, minor=126)) == -EBUSY
    misc_deregister(a)
    assert vfs_stat("/dev/miscA") == -ENOENT
    assert misc_register(Miscdevice("again", fops)) == 0  # minor 127 is free again


def test_dev_null_zero_full(kernel):
    null, zero, full = _open("/dev/null"), _open("/dev/zero"), _open("/dev/full")
    assert vfs_read(null, 100) == b"" and vfs_write(null, b"x" * 10) == 10
    assert vfs_read(zero, 5) == bytes(5) and vfs_write(zero, b"abc") == 3
    assert vfs_read(full, 3) == bytes(3) and vfs_write(full, b"a") == -ENOSPC
    assert vfs_llseek(null, 100, 0) == 0
    assert vfs_ioctl(null, 0x5401, 0) == -ENOTTY


@pytest.mark.parametrize("path", ["/dev/urandom", "/dev/random"])
def test_urandom_is_the_same_stream_on_every_boot(boot_kernel, path):
    streams = []
    for _ in range(2):
        boot_kernel("armv7", 64 << 20)
        f = _open(path, O_RDONLY)
        first = vfs_read(f, 16)
        second = vfs_read(f, 40)
        streams.append((first, second))
    assert streams[0] == streams[1]
    first, second = streams[0]
    assert isinstance(first, bytes) and isinstance(second, bytes)
    assert len(first) == 16 and len(second) == 40 and first != second[:16]
    assert vfs_write(_open(path, O_WRONLY), b"entropy") == 7
