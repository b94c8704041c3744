"""/dev/mem (drivers/char/mem.c, minor 1): physical memory by offset, with STRICT_DEVMEM.

read/write/lseek reach physical addresses: RAM as through the kernel's cacheable mapping,
register blocks as device accesses. mmap maps the physical pages into the process with
remap_pfn_range; device ranges, and any range opened O_SYNC, map uncached (device memory),
RAM otherwise maps write-back. As with CONFIG_STRICT_DEVMEM, DRAM is refused (EPERM) unless
the run allows it (`kernel.devmem_allow_ram = True`, `soclab run --devmem-ram`); the
register blocks and the VRAM aperture are always allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.kernel.core import PAGE_SIZE, current_kernel
from emulator.kernel.errno import EFAULT, EINVAL, EPERM
from emulator.kernel.fs.fcntl import O_SYNC
from emulator.kernel.fs.inode import File, FileOperations
from emulator.mmu import MemType

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel


def _allowed(k: Kernel, pa: int, size: int) -> bool:
    """devmem_is_allowed() over the range."""
    bus = k.machine.bus
    for page in range(pa & ~(PAGE_SIZE - 1), pa + max(size, 1), PAGE_SIZE):
        if bus.find_mmio(page) is not None:
            continue
        region = bus.find_memory(page)
        if region is None:
            return False
        if region.name == "dram" and not getattr(k, "devmem_allow_ram", False):
            return False
    return True


def _access(k: Kernel, pa: int, size: int, data: bytes | None) -> bytes | int:
    bus = k.machine.bus
    if bus.find_mmio(pa) is not None:
        from emulator.kernel.io import readl, writel  # noqa: F401 - for the reader

        region = bus.find_mmio(pa)
        assert region is not None
        if data is None:
            return b"".join(
                bus.mmio_read(region, pa - region.base + i, 4).to_bytes(4, "little")
                for i in range(0, size, 4)
            )[:size]
        for i in range(0, len(data), 4):
            bus.mmio_write(
                region,
                pa - region.base + i,
                4,
                int.from_bytes(data[i : i + 4].ljust(4, b"\0"), "little"),
            )
        return len(data)
    if data is None:
        return k.phys_read(pa, size)
    k.phys_write(pa, data)
    return len(data)


def read_mem(file: File, count: int, pos: int) -> bytes | int:
    k = current_kernel()
    if not _allowed(k, pos, count):
        return -EPERM
    try:
        out = _access(k, pos, count, None)
    except Exception:  # noqa: BLE001 - an address nothing answers
        return -EFAULT
    if isinstance(out, bytes):
        file.f_pos = pos + len(out)
    return out


def write_mem(file: File, data: bytes, pos: int) -> int:
    k = current_kernel()
    if not _allowed(k, pos, len(data)):
        return -EPERM
    try:
        n = _access(k, pos, 0, data)
    except Exception:  # noqa: BLE001
        return -EFAULT
    assert isinstance(n, int)
    file.f_pos = pos + n
    return n


def memory_lseek(file: File, offset: int, whence: int) -> int:
    if whence == 0:
        file.f_pos = offset
    elif whence == 1:
        file.f_pos += offset
    else:
        return -EINVAL
    return file.f_pos


def mmap_mem(file: File, vma: Any) -> int:
    """remap_pfn_range(vma, vma->vm_start, vma->vm_pgoff, size, prot)."""
    k = current_kernel()
    pa, size = vma.pgoff * PAGE_SIZE, vma.end - vma.start
    if not _allowed(k, pa, size):
        return -EPERM
    device = k.machine.bus.find_mmio(pa) is not None
    vma.pfnmap = pa
    vma.memtype = MemType.DEVICE if device or file.f_flags & O_SYNC else MemType.WRITE_BACK
    return 0


mem_fops = FileOperations(
    owner="mem", llseek=memory_lseek, read=read_mem, write=write_mem, mmap=mmap_mem
)
