"""vmalloc and the kernel's vm areas: mm/vmalloc.c, include/linux/vmalloc.h.

Virtually contiguous kernel memory in [VMALLOC_START, VMALLOC_END), built from single pages
that need not be physically contiguous (highmem pages included), mapped through the real
kernel page tables in guest RAM. The same area allocator serves vmap(), ioremap() (VM_IOREMAP)
and, on ARM, the consistent-DMA remap window [CONSISTENT_BASE, CONSISTENT_END)
(`get_consistent_vm_area`, for the DMA layer).

Design. Areas are a list sorted by address; a new area takes the lowest hole that fits
(first fit from the start of the range, as alloc_vmap_area's free-space search does), aligned
to a page, or for ioremap to the area's size rounded up to a power of two, capped at
IOREMAP_MAX_ORDER. Every area is followed by one unmapped **guard page** (counted in
`VmStruct.size`, as in Linux, so /proc/vmallocinfo shows it) unless VM_NO_GUARD is set; an
overrun runs into it and the walker finds no mapping: a kernel-mode translation fault.

Reports, in Linux's words: "Trying to vfree() nonexistent vm area (%p)", "Trying to vfree()
bad address (%p)", "Trying to vunmap() nonexistent vm area (%p)", warn_alloc's "vmalloc
error: size N, ..." lines, and the might_sleep() BUG for vmalloc/vfree/vmap/vunmap in atomic
context. `%p` prints the raw 8-digit address (no pointer hashing).

Not modelled: lazy TLB purging of freed areas (freed ranges are unmapped, flushed and
reusable at once), per-CPU vmap blocks (vm_map_ram), huge vmalloc mappings, NUMA node
counts, VM_UNINITIALIZED. vfree() from interrupt context frees at once instead of deferring
to a workqueue (vfree_atomic). The vm_struct itself is a Python object, not a kmalloc'ed one.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from emulator.kernel.core import (
    KERN_WARNING,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    Kernel,
    current_kernel,
    mm_init_hook,
    python_caller,
)
from emulator.kernel.gfp import __GFP_HIGHMEM, __GFP_NOWARN, __GFP_ZERO, GFP_KERNEL, format_gfp
from emulator.kernel.mm.page_alloc import (
    Page,
    __free_pages,
    alloc_page,
    page_to_phys,
    pfn_to_page,
    pfn_valid,
    totalram_pages,
)
from emulator.mmu import MemType

# include/linux/vmalloc.h: bits in vm_struct->flags
VM_IOREMAP = 0x0000_0001  # ioremap() and friends
VM_ALLOC = 0x0000_0002  # vmalloc()
VM_MAP = 0x0000_0004  # vmap()ed pages
VM_USERMAP = 0x0000_0008  # suitable for remap_vmalloc_range
VM_DMA_COHERENT = 0x0000_0010  # dma_alloc_coherent
VM_NO_GUARD = 0x0000_0040  # no guard page after the area
VM_MAP_PUT_PAGES = 0x0000_0200  # vfree() also frees the pages given to vmap()

IOREMAP_MAX_ORDER = 7 + PAGE_SHIFT  # largest ioremap alignment: 128 pages


@dataclass(eq=False)
class VmStruct:
    """struct vm_struct: one vm area. `size` includes the guard page."""

    addr: int
    size: int
    flags: int
    caller: str
    pages: list[Page] = field(default_factory=list)
    phys_addr: int = 0

    @property
    def nr_pages(self) -> int:
        return len(self.pages)

    @property
    def end(self) -> int:
        return self.addr + self.size


def get_vm_area_size(area: VmStruct) -> int:
    """The usable size of an area: its size without the guard page."""
    return area.size - (0 if area.flags & VM_NO_GUARD else PAGE_SIZE)


class VmallocState:
    """The kernel's vm areas (vmap_area_root / vmlist), sorted by address."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.areas: list[VmStruct] = []
        self.warned_zero_size = False

    def find(self, addr: int) -> VmStruct | None:
        """The area whose range (guard page included) holds `addr` (__find_vmap_area)."""
        i = bisect.bisect_right(self.areas, addr, key=lambda a: a.addr) - 1
        if i >= 0 and self.areas[i].addr <= addr < self.areas[i].end:
            return self.areas[i]
        return None

    def alloc(self, size: int, align: int, start: int, end: int) -> int | None:
        """The lowest `align`-aligned address in [start, end) with `size` free bytes."""
        addr = _align_up(start, align)
        for area in self.areas:
            if area.end <= addr:
                continue
            if addr + size <= area.addr or area.addr >= end:
                break
            addr = _align_up(area.end, align)
        return addr if addr + size <= end else None

    def insert(self, area: VmStruct) -> None:
        bisect.insort(self.areas, area, key=lambda a: a.addr)

    def remove(self, area: VmStruct) -> None:
        self.areas.remove(area)


def _align_up(x: int, align: int) -> int:
    return (x + align - 1) & ~(align - 1)


def _page_align(size: int) -> int:
    return (size + PAGE_SIZE - 1) & PAGE_MASK


@mm_init_hook
def vmalloc_init(kernel: Kernel) -> None:
    kernel.subsystems["vmalloc"] = VmallocState(kernel)


def _state(kernel: Kernel | None = None) -> VmallocState:
    k = kernel or current_kernel()
    st = k.subsystems.get("vmalloc")
    if st is None:
        st = k.subsystems["vmalloc"] = VmallocState(k)
    assert isinstance(st, VmallocState)
    return st


def _warn_alloc(k: Kernel, gfp: int, message: str) -> None:
    """mm/page_alloc.c warn_alloc(): a failed allocation the caller did not expect."""
    if gfp & __GFP_NOWARN:
        return
    k.printk(
        KERN_WARNING,
        f"swapper/0: {message}, mode:{gfp:#x}({format_gfp(gfp)}), nodemask=(null)\n"
        f"  caller: {python_caller()}",
    )


# -- vm areas ------------------------------------------------------------------------------


def __get_vm_area_caller(
    size: int, flags: int, start: int, end: int, caller: str | None = None
) -> VmStruct | None:
    """__get_vm_area_caller(): reserve an area (not yet mapped) in [start, end), naming
    `caller` (default: the Python caller) in /proc/vmallocinfo. The building block for
    vmalloc, ioremap and the DMA remaps; it does not check for atomic context itself."""
    st = _state()
    size = _page_align(size)
    if size == 0 or start >= end:
        return None
    align = PAGE_SIZE
    if flags & VM_IOREMAP:
        order = max(PAGE_SHIFT, min((size - 1).bit_length(), IOREMAP_MAX_ORDER))
        align = 1 << order
    if not flags & VM_NO_GUARD:
        size += PAGE_SIZE
    addr = st.alloc(size, align, start, end)
    if addr is None:
        return None
    area = VmStruct(addr, size, flags, caller or python_caller())
    st.insert(area)
    return area


def __get_vm_area(size: int, flags: int, start: int, end: int) -> VmStruct | None:
    """__get_vm_area(): an area of `size` bytes (+ guard) in [start, end); may sleep."""
    current_kernel().context.might_sleep("__get_vm_area_node (mm/vmalloc.c)")
    return __get_vm_area_caller(size, flags, start, end)


def get_vm_area(size: int, flags: int) -> VmStruct | None:
    """get_vm_area(): an area in the vmalloc range; map it with map_vm_area()."""
    lay = current_kernel().layout
    return __get_vm_area(size, flags, lay.VMALLOC_START, lay.VMALLOC_END)


def get_vm_area_caller(size: int, flags: int, caller: str) -> VmStruct | None:
    """get_vm_area_caller(): as get_vm_area, naming `caller` in /proc/vmallocinfo."""
    k = current_kernel()
    k.context.might_sleep("__get_vm_area_node (mm/vmalloc.c)")
    return __get_vm_area_caller(size, flags, k.layout.VMALLOC_START, k.layout.VMALLOC_END, caller)


def get_consistent_vm_area(
    size: int, flags: int = VM_DMA_COHERENT, caller: str | None = None
) -> VmStruct | None:
    """An area in ARM's consistent-DMA window [CONSISTENT_BASE, CONSISTENT_END) (Linux 3.4's
    arm_vmregion_alloc on consistent_head); None where the layout has no such window (x86)."""
    k = current_kernel()
    lay = k.layout
    if lay.CONSISTENT_BASE >= lay.CONSISTENT_END:
        return None
    return __get_vm_area_caller(size, flags, lay.CONSISTENT_BASE, lay.CONSISTENT_END, caller)


def find_vm_area(addr: int) -> VmStruct | None:
    """find_vm_area(): the area holding `addr`, or None."""
    return _state().find(addr)


def map_vm_area(area: VmStruct, pages: Sequence[Page], memtype: MemType) -> None:
    """Map `pages` at the start of `area` with `memtype` (vmap_pages_range)."""
    pgtable = current_kernel().pgtable
    for i, page in enumerate(pages):
        pgtable.map_kernel_page(area.addr + i * PAGE_SIZE, page_to_phys(page), memtype)


def remove_vm_area(addr: int) -> VmStruct | None:
    """remove_vm_area(): unmap the area holding `addr` (not its guard) and forget it; the
    pages it mapped are not freed."""
    st = _state()
    area = st.find(addr)
    if area is None:
        return None
    pgtable = st.kernel.pgtable
    for off in range(0, get_vm_area_size(area), PAGE_SIZE):
        pgtable.unmap_kernel_page(area.addr + off)
    st.remove(area)
    return area


def free_vm_area(area: VmStruct) -> None:
    """free_vm_area(): remove an area obtained from get_vm_area()."""
    if remove_vm_area(area.addr) is None:
        current_kernel().warn(f"Trying to free nonexistent vm area ({area.addr:08x})")


# -- vmalloc / vfree -------------------------------------------------------------------------


def __vmalloc_node_range(
    size: int,
    start: int,
    end: int,
    gfp: int,
    memtype: MemType,
    vm_flags: int,
    zero: bool,
    caller: str,
) -> int | None:
    """__vmalloc_node_range(): reserve an area, fill it with single pages, map them."""
    k = current_kernel()
    st = _state(k)
    k.context.might_sleep("vmalloc (mm/vmalloc.c)")
    if size <= 0:
        if not st.warned_zero_size:
            st.warned_zero_size = True
            k.warn("WARN_ON_ONCE(!size) in __vmalloc_node_range (mm/vmalloc.c)")
        return None
    if _page_align(size) >> PAGE_SHIFT > totalram_pages():
        _warn_alloc(k, gfp, f"vmalloc error: size {size}, exceeds total pages")
        return None
    area = __get_vm_area_caller(size, VM_ALLOC | vm_flags, start, end, caller)
    if area is None:
        _warn_alloc(k, gfp, f"vmalloc error: size {size}, vm_struct allocation failed")
        return None
    for i in range(get_vm_area_size(area) >> PAGE_SHIFT):
        page = alloc_page(gfp | __GFP_NOWARN)  # vmalloc reports the failure itself
        if page is None:
            _warn_alloc(
                k, gfp, f"vmalloc error: size {area.nr_pages * PAGE_SIZE}, failed to allocate pages"
            )
            _free_area(area)
            return None
        area.pages.append(page)
        k.pgtable.map_kernel_page(area.addr + i * PAGE_SIZE, page_to_phys(page), memtype)
    if zero:
        k.mem_write(area.addr, bytes(get_vm_area_size(area)))
    return area.addr


def _vmalloc(size: int, gfp: int, zero: bool, vm_flags: int = 0) -> int | None:
    lay = current_kernel().layout
    return __vmalloc_node_range(
        size,
        lay.VMALLOC_START,
        lay.VMALLOC_END,
        gfp,
        MemType.WRITE_BACK,
        vm_flags,
        zero,
        python_caller(),
    )


def vmalloc(size: int) -> int | None:
    """vmalloc(): `size` bytes of virtually contiguous memory (pages may be highmem)."""
    return _vmalloc(size, GFP_KERNEL | __GFP_HIGHMEM, zero=False)


def vzalloc(size: int) -> int | None:
    """vzalloc(): vmalloc() with the memory zeroed."""
    return _vmalloc(size, GFP_KERNEL | __GFP_HIGHMEM, zero=True)


def vmalloc_user(size: int) -> int | None:
    """vmalloc_user(): zeroed, VM_USERMAP (may be mapped to user space)."""
    return _vmalloc(size, GFP_KERNEL | __GFP_HIGHMEM, zero=True, vm_flags=VM_USERMAP)


def vmalloc_32(size: int) -> int | None:
    """vmalloc_32(): vmalloc() from lowmem pages only (32-bit addressable)."""
    return _vmalloc(size, GFP_KERNEL, zero=False)


def __vmalloc(size: int, gfp: int) -> int | None:
    """__vmalloc(): vmalloc() with the caller's gfp flags (__GFP_ZERO zeroes)."""
    return _vmalloc(size, gfp & ~__GFP_ZERO, zero=bool(gfp & __GFP_ZERO))


def vfree(addr: int | None) -> None:
    """vfree(): release a vmalloc() area and its pages. None is a no-op."""
    if not addr:
        return
    k = current_kernel()
    if not k.context.in_interrupt():
        k.context.might_sleep("vfree (mm/vmalloc.c)")
    if addr & ~PAGE_MASK:
        k.warn(f"Trying to vfree() bad address ({addr:08x})")
        return
    area = find_vm_area(addr)
    if area is None:
        k.warn(f"Trying to vfree() nonexistent vm area ({addr:08x})")
        return
    _free_area(area)


def _free_area(area: VmStruct) -> None:
    remove_vm_area(area.addr)
    for page in area.pages:
        __free_pages(page, 0)


# -- vmap / vunmap ---------------------------------------------------------------------------


def vmap(
    pages: Sequence[Page], count: int, flags: int = VM_MAP, memtype: MemType = MemType.WRITE_BACK
) -> int | None:
    """vmap(): map `count` existing pages virtually contiguously (prot as a memory type).
    With VM_MAP_PUT_PAGES, vfree() of the area frees the pages."""
    k = current_kernel()
    k.context.might_sleep("vmap (mm/vmalloc.c)")
    if count <= 0 or count > totalram_pages() or count > len(pages):
        return None
    area = __get_vm_area_caller(
        count << PAGE_SHIFT, flags, k.layout.VMALLOC_START, k.layout.VMALLOC_END
    )
    if area is None:
        return None
    map_vm_area(area, pages[:count], memtype)
    if flags & VM_MAP_PUT_PAGES:
        area.pages = list(pages[:count])
    return area.addr


def vunmap(addr: int | None) -> None:
    """vunmap(): release a vmap() area; the pages stay allocated."""
    k = current_kernel()
    if k.context.in_interrupt():
        k.bug("kernel BUG at mm/vmalloc.c: vunmap() called in interrupt context")
    k.context.might_sleep("vunmap (mm/vmalloc.c)")
    if not addr:
        return
    if remove_vm_area(addr) is None:
        k.warn(f"Trying to vunmap() nonexistent vm area ({addr:08x})")


# -- lookups ---------------------------------------------------------------------------------


def is_vmalloc_addr(addr: int) -> bool:
    """is_vmalloc_addr(): does `addr` lie in [VMALLOC_START, VMALLOC_END)?"""
    lay = current_kernel().layout
    return lay.VMALLOC_START <= addr < lay.VMALLOC_END


def vmalloc_to_pfn(addr: int) -> int | None:
    """vmalloc_to_pfn(): the page frame mapped at `addr` (None if nothing is mapped)."""
    found = current_kernel().pgtable.lookup(addr)
    return None if found is None else found[0] >> PAGE_SHIFT


def vmalloc_to_page(addr: int) -> Page | None:
    """vmalloc_to_page(): the struct page mapped at `addr`, found by walking the kernel page
    tables; None if nothing is mapped there or the frame is not RAM (an ioremap)."""
    found = current_kernel().pgtable.lookup(addr)
    if found is None or not pfn_valid(found[0] >> PAGE_SHIFT):
        return None
    return pfn_to_page(found[0] >> PAGE_SHIFT)


# -- /proc/vmallocinfo -----------------------------------------------------------------------


def vmallocinfo() -> str:
    """/proc/vmallocinfo as root reads it (mm/vmalloc.c vmalloc_info_show)."""
    lines = []
    for v in _state().areas:
        line = f"0x{v.addr:08x}-0x{v.end:08x} {v.size:7d}"
        if v.caller:
            line += f" {v.caller}"
        if v.nr_pages:
            line += f" pages={v.nr_pages}"
        if v.phys_addr:
            line += f" phys=0x{v.phys_addr:08x}"
        for flag, word in (
            (VM_IOREMAP, "ioremap"),
            (VM_ALLOC, "vmalloc"),
            (VM_MAP, "vmap"),
            (VM_USERMAP, "user"),
            (VM_DMA_COHERENT, "dma-coherent"),
        ):
            if v.flags & flag:
                line += f" {word}"
        lines.append(line + "\n")
    return "".join(lines)
