"""Character device numbers and dispatch (fs/char_dev.c, include/linux/kdev_t.h,
include/linux/cdev.h).

A driver reserves a range of device numbers (`register_chrdev_region` for fixed numbers,
`alloc_chrdev_region` for a dynamic major), embeds a `Cdev` whose ops are its
`FileOperations` (`cdev_init`), and makes it live with `cdev_add`. Opening a device node
runs `chrdev_open`, the open of every S_IFCHR inode (`def_chr_fops`): it finds the cdev
that covers the node's i_rdev and replaces the file's f_op with the driver's before calling
the driver's open, as Linux does. No cdev for the number → -ENXIO.

Dynamic majors are handed out as find_dynamic_major() does: 254 downwards to 234, then
511 downwards to 384. dev_t is the kernel's internal encoding (major << 20 | minor);
`new_encode_dev` gives the 32-bit user-space encoding stat(2) reports.

Not modelled: kobjects, the /proc/devices listing, module reference counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import current_kernel, mm_init_hook
from emulator.kernel.errno import EBUSY, EINVAL, ENXIO
from emulator.kernel.fs.inode import File, FileOperations, Inode
from emulator.kernel.fs.libfs import noop_llseek

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

MINORBITS = 20
MINORMASK = (1 << MINORBITS) - 1
CHRDEV_MAJOR_MAX = 512
CHRDEV_MAJOR_DYN_END = 234
CHRDEV_MAJOR_DYN_EXT_START = 511
CHRDEV_MAJOR_DYN_EXT_END = 384


def MKDEV(ma: int, mi: int) -> int:
    return (ma << MINORBITS) | mi


def MAJOR(dev: int) -> int:
    return dev >> MINORBITS


def MINOR(dev: int) -> int:
    return dev & MINORMASK


def new_encode_dev(dev: int) -> int:
    """include/linux/kdev_t.h: the dev_t user space sees in st_rdev/st_dev."""
    major, minor = MAJOR(dev), MINOR(dev)
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


@dataclass
class CharDeviceStruct:
    """A reserved range of device numbers (struct char_device_struct)."""

    major: int
    baseminor: int
    minorct: int
    name: str
    cdev: Cdev | None = None  # set by register_chrdev (the old one-call API)


@dataclass(eq=False)
class Cdev:
    """struct cdev: a driver's character device, live between cdev_add and cdev_del."""

    ops: FileOperations | None = None
    owner: str | None = None
    dev: int = 0
    count: int = 0


@dataclass
class ChrdevState:
    regions: list[CharDeviceStruct] = field(default_factory=list)
    cdev_map: list[Cdev] = field(default_factory=list)  # kobj_map: newest first


@mm_init_hook
def chrdev_init(kernel: Kernel) -> None:
    """fs/char_dev.c chrdev_init(): the device-number tables."""
    kernel.subsystems.setdefault("chrdev", ChrdevState())


def _state() -> ChrdevState:
    k = current_kernel()
    if "chrdev" not in k.subsystems:
        chrdev_init(k)
    state = k.subsystems["chrdev"]
    assert isinstance(state, ChrdevState)
    return state


def _find_dynamic_major(state: ChrdevState) -> int:
    used = {r.major for r in state.regions}
    for major in range(254, CHRDEV_MAJOR_DYN_END - 1, -1):
        if major not in used:
            return major
    for major in range(CHRDEV_MAJOR_DYN_EXT_START, CHRDEV_MAJOR_DYN_EXT_END - 1, -1):
        if major not in used:
            return major
    return -EBUSY


def __register_chrdev_region(
    major: int, baseminor: int, minorct: int, name: str
) -> CharDeviceStruct | int:
    state = _state()
    if major >= CHRDEV_MAJOR_MAX or major < 0:
        return -EINVAL
    if minorct <= 0 or baseminor < 0 or minorct > MINORMASK + 1 - baseminor:
        return -EINVAL
    if major == 0:
        major = _find_dynamic_major(state)
        if major < 0:
            return major
    end = baseminor + minorct
    for r in state.regions:
        if r.major == major and r.baseminor < end and baseminor < r.baseminor + r.minorct:
            return -EBUSY
    region = CharDeviceStruct(major, baseminor, minorct, name)
    state.regions.append(region)
    return region


def register_chrdev_region(first: int, count: int, name: str) -> int:
    """Reserve the fixed numbers [first, first + count): 0 or -EBUSY/-EINVAL."""
    if count <= 0 or MINOR(first) + count > MINORMASK + 1:
        return -EINVAL
    r = __register_chrdev_region(MAJOR(first), MINOR(first), count, name)
    return r if isinstance(r, int) else 0


def alloc_chrdev_region(baseminor: int, count: int, name: str) -> tuple[int, int]:
    """Reserve `count` minors from `baseminor` under a new dynamic major: (0, dev_t) or
    (-errno, 0)."""
    r = __register_chrdev_region(0, baseminor, count, name)
    if isinstance(r, int):
        return r, 0
    return 0, MKDEV(r.major, r.baseminor)


def unregister_chrdev_region(first: int, count: int) -> None:
    """Release a range reserved by register_chrdev_region or alloc_chrdev_region."""
    state = _state()
    state.regions = [
        r
        for r in state.regions
        if not (r.major == MAJOR(first) and r.baseminor == MINOR(first) and r.minorct == count)
    ]


def register_chrdev(major: int, name: str, fops: FileOperations) -> int:
    """include/linux/fs.h register_chrdev(): minors 0-255 of `major` (0: dynamic) with one
    cdev; returns the major or -errno."""
    r = __register_chrdev_region(major, 0, 256, name)
    if isinstance(r, int):
        return r
    cdev = Cdev(owner=fops.owner)
    cdev_init(cdev, fops)
    cdev_add(cdev, MKDEV(r.major, 0), 256)
    r.cdev = cdev
    return r.major


def unregister_chrdev(major: int, name: str) -> None:
    state = _state()
    for r in list(state.regions):
        if r.major == major and r.baseminor == 0 and r.minorct == 256:
            if r.cdev is not None:
                cdev_del(r.cdev)
            state.regions.remove(r)


def cdev_init(cdev: Cdev, fops: FileOperations) -> None:
    """Initialise a cdev with the driver's file operations."""
    cdev.ops = fops
    cdev.owner = fops.owner


def cdev_alloc() -> Cdev:
    return Cdev()


def cdev_add(cdev: Cdev, dev: int, count: int) -> int:
    """Make the device live for [dev, dev + count): opens of those numbers reach its ops."""
    if count <= 0:
        return -EINVAL
    cdev.dev, cdev.count = dev, count
    _state().cdev_map.insert(0, cdev)
    return 0


def cdev_del(cdev: Cdev) -> None:
    """Remove the device: later opens give -ENXIO (files already open keep working)."""
    state = _state()
    state.cdev_map = [c for c in state.cdev_map if c is not cdev]


def cdev_lookup(dev: int) -> Cdev | None:
    """kobj_lookup(): the live cdev covering a device number."""
    for cdev in _state().cdev_map:
        if cdev.dev <= dev < cdev.dev + cdev.count and MAJOR(cdev.dev) == MAJOR(dev):
            return cdev
    return None


def chrdev_open(inode: Inode, file: File) -> int:
    """The open of every character-device inode: switch the file to the driver's ops."""
    cdev = cdev_lookup(inode.i_rdev)
    if cdev is None or cdev.ops is None:
        return -ENXIO
    inode.i_private = cdev
    file.f_op = cdev.ops
    if cdev.ops.open is not None:
        return cdev.ops.open(inode, file)
    return 0


def iminor(inode: Inode) -> int:
    return MINOR(inode.i_rdev)


def imajor(inode: Inode) -> int:
    return MAJOR(inode.i_rdev)


def_chr_fops = FileOperations(owner="char_dev", open=chrdev_open, llseek=noop_llseek)
