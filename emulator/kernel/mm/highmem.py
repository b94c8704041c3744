"""Highmem mappings: mm/highmem.c, include/linux/highmem.h, arch/arm/mm/highmem.c (Linux 3.4).

Memory above the lowmem limit (ZONE_HIGHMEM: ARM above 760 MiB, x86 above 896 MiB) has no
permanent kernel address. Kernel code reaches a highmem page through a temporary mapping:

- `kmap(page)`: a slot in the pkmap area [PKMAP_BASE, PKMAP_BASE + LAST_PKMAP pages),
  refcounted per page, may sleep. Linux's design is kept: `pkmap_count[i]` is 0 for a free
  slot, 1 for a slot whose page is unmapped by its users but still mapped in the page table
  (the TLB flush is batched), and n + 1 for n users. Slots are handed out round-robin from
  `last_pkmap_nr`; when the search wraps, `flush_all_zero_pkmaps()` clears every count-1 slot
  at once. So a page kunmap()ed stays mapped — and `page.virtual` stays set — until the next
  wrap or `kmap_flush_unused()`, exactly as on Linux (a stale pointer keeps working there).
- `kmap_atomic(page)` / `kmap_local_page(page)`: a per-CPU stack of KM_TYPE_NR fixmap slots
  (FIX_KMAP_BEGIN + idx; ARM 3.4 counts up from FIXADDR_START, x86 down from FIXADDR_TOP).
  kmap_atomic also disables preemption and page faults (the context becomes atomic until
  kunmap_atomic); kmap_local does not. Unmapping must be in reverse order: an out-of-order
  kunmap is reported as a BUG and, as Linux does, clears the *top* slot (the one still in
  use), so the mapping the caller thinks it holds disappears.

Lowmem pages need none of this: every function returns `page_address(page)` for them.
Highmem pages are mapped write-back, like the linear map.

Not modelled: SMP (one CPU's slot stack), waiting for a free pkmap slot (all LAST_PKMAP
slots busy is reported as a BUG: with one thread nobody could ever free one), ARM's
kmap_high_get for VIVT caches (the modelled cache is physically indexed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.kernel.core import (
    PAGE_MASK,
    PAGE_SHIFT,
    Kernel,
    KernelBug,
    current_kernel,
    mm_init_hook,
)
from emulator.kernel.mm.page_alloc import (
    Page,
    PageHighMem,
    page_address,
    page_to_phys,
    pfn_to_page,
    virt_to_page,
)
from emulator.mmu import MemType

KM_TYPE_NR = 16  # asm/kmap_types.h: atomic kmap slots per CPU
FIX_KMAP_BEGIN_X86 = 1  # enum fixed_addresses: index 0 is FIX_HOLE


@dataclass
class PkmapState:
    """pkmap_count[], the pages in the pkmap slots, and the per-CPU kmap_atomic stack."""

    last_pkmap: int
    pkmap_count: list[int] = field(default_factory=list)
    pkmap_page: list[Page | None] = field(default_factory=list)
    last_pkmap_nr: int = 0
    kmap_stack: list[int] = field(default_factory=list)  # slot VAs, innermost last
    atomic_depth: int = 0  # kmap_atomic()s not yet unmapped: preempt_count they hold

    def __post_init__(self) -> None:
        self.pkmap_count = [0] * self.last_pkmap
        self.pkmap_page = [None] * self.last_pkmap


@mm_init_hook
def kmap_init(kernel: Kernel) -> None:
    kernel.subsystems["highmem"] = PkmapState(kernel.layout.LAST_PKMAP)


def _state(k: Kernel) -> PkmapState:
    st = k.subsystems.get("highmem")
    if st is None:
        st = k.subsystems["highmem"] = PkmapState(k.layout.LAST_PKMAP)
    assert isinstance(st, PkmapState)
    return st


def PKMAP_ADDR(nr: int) -> int:  # noqa: N802
    return current_kernel().layout.PKMAP_BASE + (nr << PAGE_SHIFT)


def PKMAP_NR(vaddr: int) -> int:  # noqa: N802
    return (vaddr - current_kernel().layout.PKMAP_BASE) >> PAGE_SHIFT


def _lowmem_address(page: Page) -> int:
    addr = page_address(page)
    assert addr is not None, "a lowmem page always has a kernel address"
    return addr


# -- kmap: the pkmap area --------------------------------------------------------------------


def flush_all_zero_pkmaps() -> None:
    """Unmap every pkmap slot whose users are all gone (count 1) and free it."""
    k = current_kernel()
    st = _state(k)
    for nr in range(st.last_pkmap):
        if st.pkmap_count[nr] != 1:
            continue
        st.pkmap_count[nr] = 0
        page = st.pkmap_page[nr]
        st.pkmap_page[nr] = None
        k.pgtable.unmap_kernel_page(PKMAP_ADDR(nr))
        if page is not None:
            page.virtual = None


def kmap_flush_unused() -> None:
    """kmap_flush_unused(): drop the lazily kept mappings of kunmap()ed pages now."""
    flush_all_zero_pkmaps()


def _map_new_virtual(k: Kernel, st: PkmapState, page: Page) -> int:
    count = st.last_pkmap
    while True:
        st.last_pkmap_nr = (st.last_pkmap_nr + 1) % st.last_pkmap
        if st.last_pkmap_nr == 0:
            flush_all_zero_pkmaps()
            count = st.last_pkmap
        if not st.pkmap_count[st.last_pkmap_nr]:
            break
        count -= 1
        if count == 0:
            k.bug(
                f"kmap_high: all {st.last_pkmap} pkmap slots are in use; kmap() would sleep "
                "forever waiting for a kunmap()"
            )
            raise KernelBug("kmap_high: no free pkmap slot")
    nr = st.last_pkmap_nr
    vaddr = PKMAP_ADDR(nr)
    k.pgtable.map_kernel_page(vaddr, page_to_phys(page), MemType.WRITE_BACK)
    st.pkmap_count[nr] = 1
    st.pkmap_page[nr] = page
    page.virtual = vaddr
    return vaddr


def kmap_high(page: Page) -> int:
    """kmap_high(): a pkmap address for a highmem page, reusing its mapping if it has one."""
    k = current_kernel()
    st = _state(k)
    vaddr = page.virtual
    if vaddr is None:
        vaddr = _map_new_virtual(k, st, page)
    st.pkmap_count[PKMAP_NR(vaddr)] += 1
    return vaddr


def kunmap_high(page: Page) -> None:
    """kunmap_high(): drop one user of a page's pkmap slot (the mapping stays until the next
    flush_all_zero_pkmaps)."""
    k = current_kernel()
    st = _state(k)
    vaddr = page.virtual
    if vaddr is None:
        k.bug(f"kernel BUG at mm/highmem.c: kunmap_high(): pfn {page.pfn:#x} is not kmapped")
        return
    nr = PKMAP_NR(vaddr)
    st.pkmap_count[nr] -= 1
    if st.pkmap_count[nr] == 0:
        st.pkmap_count[nr] = 1
        k.bug(
            f"kernel BUG at mm/highmem.c: kunmap_high(): pfn {page.pfn:#x} unmapped more "
            "often than it was kmapped"
        )


def kmap(page: Page) -> int:
    """kmap(): a kernel address for any page; may sleep. Pair with kunmap(page)."""
    k = current_kernel()
    k.context.might_sleep("kmap (mm/highmem.c)")
    if not PageHighMem(page):
        return _lowmem_address(page)
    return kmap_high(page)


def kunmap(page: Page) -> None:
    """kunmap(): release a kmap() of `page`."""
    k = current_kernel()
    if k.context.in_interrupt():
        k.bug("kernel BUG at mm/highmem.c: kunmap() called in interrupt context")
    if PageHighMem(page):
        kunmap_high(page)


# -- kmap_atomic / kmap_local: the fixmap slot stack -----------------------------------------


def _slot_va(k: Kernel, idx: int) -> int:
    """__fix_to_virt(FIX_KMAP_BEGIN + idx) for CPU 0."""
    lay = k.layout
    if k.machine.board.arch == "armv7":
        return lay.FIXADDR_START + (idx << PAGE_SHIFT)
    return lay.FIXADDR_TOP - ((FIX_KMAP_BEGIN_X86 + idx) << PAGE_SHIFT)


def _slot_index(k: Kernel, vaddr: int) -> int | None:
    for idx in range(KM_TYPE_NR):
        if _slot_va(k, idx) == vaddr:
            return idx
    return None


def _push(k: Kernel, page: Page, what: str) -> int:
    st = _state(k)
    idx = len(st.kmap_stack)
    if idx >= KM_TYPE_NR:
        k.bug(
            f"kernel BUG at mm/highmem.c: {what}: more than KM_TYPE_NR ({KM_TYPE_NR}) "
            "atomic kmaps nested (a missing kunmap_atomic/kunmap_local?)"
        )
        raise KernelBug(f"{what}: kmap slot stack overflow")
    vaddr = _slot_va(k, idx)
    k.pgtable.map_kernel_page(vaddr, page_to_phys(page), MemType.WRITE_BACK)
    st.kmap_stack.append(vaddr)
    return vaddr


def _pop(k: Kernel, addr: int, what: str) -> None:
    st = _state(k)
    vaddr = addr & PAGE_MASK
    if _slot_index(k, vaddr) is not None:
        if not st.kmap_stack:
            k.bug(f"kernel BUG at mm/highmem.c: {what}({addr:#010x}): no atomic kmap is active")
            return
        top = st.kmap_stack[-1]
        if vaddr != top:
            k.bug(
                f"kernel BUG at mm/highmem.c: {what}({addr:#010x}) is not the last mapped "
                f"slot: unmap in reverse order (last mapped: {top:#010x})"
            )
        k.pgtable.unmap_kernel_page(top)  # Linux clears the top slot, whatever was passed
        st.kmap_stack.pop()
        return
    lay = k.layout
    if lay.PKMAP_BASE <= vaddr < lay.PKMAP_BASE + (lay.LAST_PKMAP << PAGE_SHIFT):
        page = st.pkmap_page[PKMAP_NR(vaddr)]
        if page is not None:
            kunmap_high(page)


def kmap_atomic(page: Page) -> int:
    """kmap_atomic(): a short-lived mapping; the context is atomic until kunmap_atomic()."""
    k = current_kernel()
    st = _state(k)
    if PageHighMem(page) and len(st.kmap_stack) >= KM_TYPE_NR:
        _push(k, page, "kmap_atomic")  # reports the overflow
    k.context.preempt_count += 1  # preempt_disable() + pagefault_disable()
    st.atomic_depth += 1
    if not PageHighMem(page):
        return _lowmem_address(page)
    return _push(k, page, "kmap_atomic")


def kunmap_atomic(addr: int) -> None:
    """kunmap_atomic(): release the innermost kmap_atomic() mapping (pass its address)."""
    k = current_kernel()
    st = _state(k)
    if st.atomic_depth == 0:
        k.bug(f"kunmap_atomic({addr:#010x}) without a matching kmap_atomic()")
        return
    _pop(k, addr, "kunmap_atomic")
    st.atomic_depth -= 1
    k.context.preempt_count -= 1


def kmap_local_page(page: Page) -> int:
    """kmap_local_page(): like kmap_atomic but the context stays preemptible."""
    k = current_kernel()
    if not PageHighMem(page):
        return _lowmem_address(page)
    return _push(k, page, "kmap_local_page")


def kunmap_local(addr: int) -> None:
    """kunmap_local(): release the innermost kmap_local_page() mapping."""
    _pop(current_kernel(), addr, "kunmap_local")


def kmap_to_page(addr: int) -> Page:
    """kmap_to_page(): the page behind a kmap, kmap_atomic or lowmem address."""
    k = current_kernel()
    vaddr = addr & PAGE_MASK
    lay = k.layout
    if lay.PKMAP_BASE <= vaddr < lay.PKMAP_BASE + (lay.LAST_PKMAP << PAGE_SHIFT):
        page = _state(k).pkmap_page[PKMAP_NR(vaddr)]
        if page is not None:
            return page
    if _slot_index(k, vaddr) is not None:
        found = k.pgtable.lookup(vaddr)
        if found is not None:
            return pfn_to_page(found[0] >> PAGE_SHIFT)
    return virt_to_page(addr)


def kmap_pages_in_use() -> int:
    """pkmap slots with users (count > 1), for leak checks."""
    return sum(1 for c in _state(current_kernel()).pkmap_count if c > 1)
