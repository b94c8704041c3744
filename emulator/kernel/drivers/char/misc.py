"""Miscellaneous character devices, major 10 (drivers/char/misc.c, include/linux/miscdevice.h).

A driver with a single device fills a `Miscdevice` (name, minor or MISC_DYNAMIC_MINOR,
fops) and calls `misc_register`: the device gets a minor — dynamic ones count down from
127, as find_first_zero_bit over DYNAMIC_MINORS (128) gives in Linux 6.1 — and a node
/dev/<nodename or name>. Opening the node stores the Miscdevice in `file.private_data`
before the driver's open runs (so drivers find their state with container_of's moral
equivalent, `file.private_data`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import current_kernel, mm_init_hook
from emulator.kernel.errno import EBUSY, EINVAL, ENODEV
from emulator.kernel.fs.char_dev import MKDEV, iminor, register_chrdev
from emulator.kernel.fs.inode import File, FileOperations, Inode
from emulator.kernel.fs.libfs import noop_llseek
from emulator.kernel.fs.vfs import devtmpfs_create_node, devtmpfs_delete_node

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

MISC_MAJOR = 10
MISC_DYNAMIC_MINOR = 255
DYNAMIC_MINORS = 128


@dataclass(eq=False)
class Miscdevice:
    """struct miscdevice."""

    name: str
    fops: FileOperations
    minor: int = MISC_DYNAMIC_MINOR
    nodename: str | None = None
    mode: int = 0
    this_device: object = None


@dataclass
class MiscState:
    misc_list: list[Miscdevice] = field(default_factory=list)
    misc_minors: set[int] = field(default_factory=set)  # dynamic bitmap positions in use


def _state() -> MiscState:
    k = current_kernel()
    state = k.subsystems.get("misc")
    if not isinstance(state, MiscState):
        misc_init(k)
        state = k.subsystems["misc"]
    assert isinstance(state, MiscState)
    return state


def misc_open(inode: Inode, file: File) -> int:
    for misc in _state().misc_list:
        if misc.minor == iminor(inode):
            file.private_data = misc
            file.f_op = misc.fops
            if misc.fops.open is not None:
                return misc.fops.open(inode, file)
            return 0
    return -ENODEV


misc_fops = FileOperations(owner="misc", open=misc_open, llseek=noop_llseek)


@mm_init_hook
def misc_init(kernel: Kernel) -> None:
    """Register major 10 for the misc devices."""
    if isinstance(kernel.subsystems.get("misc"), MiscState):
        return
    kernel.subsystems["misc"] = MiscState()
    register_chrdev(MISC_MAJOR, "misc", misc_fops)


def misc_register(misc: Miscdevice) -> int:
    """Give the device a minor and a /dev node: 0, -EBUSY (minor taken or none left) or
    -EINVAL."""
    state = _state()
    if misc.minor == MISC_DYNAMIC_MINOR:
        bit = next((i for i in range(DYNAMIC_MINORS) if i not in state.misc_minors), None)
        if bit is None:
            return -EBUSY
        state.misc_minors.add(bit)
        misc.minor = DYNAMIC_MINORS - bit - 1
    elif not 0 <= misc.minor < MISC_DYNAMIC_MINOR:
        return -EINVAL
    elif any(m.minor == misc.minor for m in state.misc_list):
        return -EBUSY
    state.misc_list.insert(0, misc)
    ret = devtmpfs_create_node(
        misc.nodename or misc.name, misc.mode or 0o600, MKDEV(MISC_MAJOR, misc.minor)
    )
    if ret < 0:
        misc_deregister(misc)
    return ret


def misc_deregister(misc: Miscdevice) -> None:
    """Remove the device and its node; a dynamic minor is freed for reuse."""
    state = _state()
    if misc not in state.misc_list:
        return
    state.misc_list.remove(misc)
    devtmpfs_delete_node(misc.nodename or misc.name)
    bit = DYNAMIC_MINORS - misc.minor - 1
    if bit in state.misc_minors:
        state.misc_minors.discard(bit)
        misc.minor = MISC_DYNAMIC_MINOR
