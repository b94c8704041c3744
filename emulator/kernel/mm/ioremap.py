"""ioremap: device memory in the kernel's address space. arch/arm/mm/ioremap.c,
arch/x86/mm/ioremap.c, arch/arm/include/asm/io.h, include/asm-generic/io.h.

`ioremap(phys, size)` takes a vm area flagged VM_IOREMAP from the vmalloc range (shown with
` phys=... ioremap` in /proc/vmallocinfo), maps the whole pages covering [phys, phys + size)
and returns the area's address plus phys's offset within its page, so `ioremap(0x10001004, 4)`
points at 0x...004. The memory type per variant, as each architecture's Linux programs it:

| call | ARM (mem_types[]) | x86 (PAT) |
|---|---|---|
| ioremap | MT_DEVICE: device | UC: strongly-ordered (Linux uses UC-; same without MTRRs) |
| ioremap_wc | MT_DEVICE_WC: normal non-cacheable | WC: write-combining (normal non-cacheable) |
| ioremap_wt | `#define ioremap_wt ioremap_wc` | WT: write-through |
| ioremap_cache | MT_DEVICE_CACHED: write-back | WB: write-back |
| ioremap_uc | (not on ARM) | UC |

Mapping System RAM is refused on both, as Linux refuses it (ARM: WARN_ON(pfn_valid) in
__arm_ioremap_pfn_caller, since a second mapping of RAM with another memory type is
architecturally unpredictable; x86: "ioremap on RAM at %pa - %pa"): a WARNING and None.
The VRAM aperture is not RAM and may be ioremapped (ioremap_wc for a framebuffer).

Not modelled: ARM static I/O mappings (iotable) and section-mapped ioremaps, x86 PAT memtype
reservations (a conflicting second ioremap is not refused), ISA low-megabyte identity.
"""

from __future__ import annotations

from emulator.kernel.core import PAGE_MASK, PAGE_SIZE, Kernel, current_kernel, python_caller
from emulator.kernel.mm.vmalloc import (
    VM_IOREMAP,
    __get_vm_area_caller,
    find_vm_area,
    remove_vm_area,
)
from emulator.mmu import MemType


def _overlaps_ram(k: Kernel, start: int, last: int) -> bool:
    board = k.machine.board
    return start < board.ram_base + board.ram_size and board.ram_base <= last


def __ioremap_caller(phys_addr: int, size: int, memtype: MemType, caller: str) -> int | None:
    """__arm_ioremap_caller / x86 __ioremap_caller: map [phys_addr, phys_addr + size)."""
    k = current_kernel()
    k.context.might_sleep("ioremap (mm/ioremap.c)")
    last = phys_addr + size - 1
    if size <= 0 or phys_addr < 0 or last > 0xFFFF_FFFF:
        return None
    if _overlaps_ram(k, phys_addr, last):
        k.warn(f"ioremap on RAM at 0x{phys_addr:08x} - 0x{last:08x}", caller)
        return None
    offset = phys_addr & ~PAGE_MASK
    paddr = phys_addr & PAGE_MASK
    size = ((last + PAGE_SIZE) & PAGE_MASK) - paddr
    lay = k.layout
    area = __get_vm_area_caller(size, VM_IOREMAP, lay.VMALLOC_START, lay.VMALLOC_END, caller)
    if area is None:
        return None
    area.phys_addr = paddr
    for off in range(0, size, PAGE_SIZE):
        k.pgtable.map_kernel_page(area.addr + off, paddr + off, memtype)
    return area.addr + offset


def _is_arm(k: Kernel) -> bool:
    return bool(k.machine.board.arch == "armv7")


def ioremap(phys_addr: int, size: int) -> int | None:
    """ioremap(): map a register block uncached (ARM device, x86 UC)."""
    k = current_kernel()
    memtype = MemType.DEVICE if _is_arm(k) else MemType.STRONGLY_ORDERED
    return __ioremap_caller(phys_addr, size, memtype, python_caller())


def ioremap_uc(phys_addr: int, size: int) -> int | None:
    """ioremap_uc(): strictly uncached (x86 UC; on ARM the same as ioremap)."""
    k = current_kernel()
    memtype = MemType.DEVICE if _is_arm(k) else MemType.STRONGLY_ORDERED
    return __ioremap_caller(phys_addr, size, memtype, python_caller())


def ioremap_wc(phys_addr: int, size: int) -> int | None:
    """ioremap_wc(): write-combining (ARM normal non-cacheable, x86 WC): writes are buffered
    until a barrier (wmb) or an uncached access."""
    return __ioremap_caller(phys_addr, size, MemType.NORMAL_NC, python_caller())


def ioremap_wt(phys_addr: int, size: int) -> int | None:
    """ioremap_wt(): write-through on x86; on ARM it *is* ioremap_wc (asm/io.h)."""
    k = current_kernel()
    memtype = MemType.NORMAL_NC if _is_arm(k) else MemType.WRITE_THROUGH
    return __ioremap_caller(phys_addr, size, memtype, python_caller())


def ioremap_cache(phys_addr: int, size: int) -> int | None:
    """ioremap_cache(): cacheable write-back (ARM MT_DEVICE_CACHED, x86 WB)."""
    return __ioremap_caller(phys_addr, size, MemType.WRITE_BACK, python_caller())


def iounmap(addr: int | None) -> None:
    """iounmap(): undo an ioremap (any address inside the mapping's first page works)."""
    if not addr:
        return
    k = current_kernel()
    k.context.might_sleep("iounmap (mm/ioremap.c)")
    if not _is_arm(k) and addr <= k.layout.high_memory:
        return  # x86: the ISA range and lowmem are never ioremapped
    vaddr = addr & PAGE_MASK
    if find_vm_area(vaddr) is None:
        if _is_arm(k):
            k.warn(f"Trying to vunmap() nonexistent vm area ({vaddr:08x})")
        else:
            k.warn(f"iounmap: bad address {addr:08x}")
        return
    remove_vm_area(vaddr)
