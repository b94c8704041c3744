"""The memory devices of major 1 (drivers/char/mem.c, drivers/char/random.c):
/dev/null (1:3), /dev/zero (1:5), /dev/full (1:7), /dev/random (1:8), /dev/urandom (1:9).

As in Linux, one `memory_fops` is registered for the whole major and its open switches the
file to the minor's own operations. null/zero/full seek with null_lseek (always to 0);
writes to /dev/full fail with -ENOSPC; ioctls give -ENOTTY.

Deviation: the random devices are deterministic — a SHA-256 counter-mode stream from a
fixed seed (`rand_initialize(kernel, seed)`), so two runs read the same bytes; writes are
accepted and ignored rather than mixed in. /dev/mem (1:1) is not modelled yet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import current_kernel, mm_init_hook
from emulator.kernel.errno import ENOSPC, ENXIO
from emulator.kernel.fs.char_dev import MKDEV, iminor, register_chrdev
from emulator.kernel.fs.inode import (
    EPOLLIN,
    EPOLLOUT,
    EPOLLRDNORM,
    EPOLLWRNORM,
    File,
    FileOperations,
    Inode,
)
from emulator.kernel.fs.libfs import noop_llseek, null_lseek
from emulator.kernel.fs.vfs import devtmpfs_create_node

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

MEM_MAJOR = 1
DEFAULT_SEED = b"soclab-urandom"


# -- /dev/null, /dev/zero, /dev/full ---------------------------------------------------------


def read_null(file: File, count: int, pos: int) -> bytes | int:
    return b""


def write_null(file: File, data: bytes, pos: int) -> int:
    return len(data)


def read_zero(file: File, count: int, pos: int) -> bytes | int:
    return bytes(count)


def write_full(file: File, data: bytes, pos: int) -> int:
    return -ENOSPC


null_fops = FileOperations(owner="mem", llseek=null_lseek, read=read_null, write=write_null)
zero_fops = FileOperations(owner="mem", llseek=null_lseek, read=read_zero, write=write_null)
full_fops = FileOperations(owner="mem", llseek=null_lseek, read=read_zero, write=write_full)


# -- /dev/random, /dev/urandom ------------------------------------------------------------------


@dataclass
class RandomState:
    """The deterministic pool: block i of the stream is SHA-256(seed || i as u64 LE)."""

    seed: bytes = DEFAULT_SEED
    counter: int = 0
    pending: bytearray = field(default_factory=bytearray)


def rand_initialize(kernel: Kernel, seed: bytes = DEFAULT_SEED) -> None:
    """Reset the random stream of a kernel to the start of `seed`'s sequence."""
    kernel.subsystems["random"] = RandomState(seed)


def get_random_bytes(n: int) -> bytes:
    """The next n bytes of the current kernel's stream (getrandom(2) uses it too)."""
    k = current_kernel()
    state = k.subsystems.get("random")
    if not isinstance(state, RandomState):
        rand_initialize(k)
        state = k.subsystems["random"]
    while len(state.pending) < n:
        block = hashlib.sha256(state.seed + state.counter.to_bytes(8, "little")).digest()
        state.pending += block
        state.counter += 1
    out = bytes(state.pending[:n])
    del state.pending[:n]
    return out


def urandom_read(file: File, count: int, pos: int) -> bytes | int:
    return get_random_bytes(count)


def random_poll(file: File, wait: object) -> int:
    return EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM


random_fops = FileOperations(
    owner="random", llseek=noop_llseek, read=urandom_read, write=write_null, poll=random_poll
)
urandom_fops = random_fops


# -- the major ------------------------------------------------------------------------------------


def _mem_fops() -> FileOperations:
    from emulator.kernel.drivers.char.devmem import mem_fops

    return mem_fops


devlist: dict[int, tuple[str, FileOperations, int]] = {
    1: ("mem", _mem_fops(), 0o640),
    3: ("null", null_fops, 0o666),
    5: ("zero", zero_fops, 0o666),
    7: ("full", full_fops, 0o666),
    8: ("random", random_fops, 0o666),
    9: ("urandom", urandom_fops, 0o666),
}


def memory_open(inode: Inode, file: File) -> int:
    """Switch the file to the minor's operations."""
    entry = devlist.get(iminor(inode))
    if entry is None:
        return -ENXIO
    file.f_op = entry[1]
    if file.f_op.open is not None:
        return file.f_op.open(inode, file)
    return 0


memory_fops = FileOperations(owner="mem", open=memory_open, llseek=noop_llseek)


@mm_init_hook
def chr_dev_init(kernel: Kernel) -> None:
    """register_chrdev(MEM_MAJOR, "mem") and the /dev nodes."""
    if "random" not in kernel.subsystems:
        rand_initialize(kernel)
    ret = register_chrdev(MEM_MAJOR, "mem", memory_fops)
    if ret < 0:
        kernel.printk("<3>", f"unable to get major {MEM_MAJOR} for memory devs")
        return
    for minor, (name, _fops, mode) in devlist.items():
        devtmpfs_create_node(name, mode, MKDEV(MEM_MAJOR, minor))
