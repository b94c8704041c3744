"""User page faults and the page-table copies of fork (mm/memory.c).

Design. A process's present user PTEs are mirrored in `mm.pages` (virtual page → physical
page): rss counts it, zap and fork walk it. Anonymous private memory is allocated on first
touch (do_anonymous_page) and zeroed through the cache model as clear_user_highpage +
flush_dcache_page leave it: memory and cache agree, no line dirty. Fork shares every
private page read-only (copy_page_range → copy_present_pte); struct page's `_refcount` counts
the address spaces holding it and `_mapcount` the PTEs mapping it. A write fault on such a
page (do_wp_page) takes it back writable when this mm is the only holder
(wp_can_reuse_anon_folio), else copies it (wp_page_copy). Shared mappings (MAP_SHARED
anonymous memory, device files) go through the VMA's `vm_ops.fault`, which finds the page;
the core maps it. remap_pfn_range mappings (VM_PFNMAP: /dev/mem and the like) map their
physical range, with no struct page reference.

Faults are resolved in two places. The TLB-fill hook calls `handle_mm_fault(atomic=True)`
first: demand-zero and copy-on-write faults are fixed there and the access completes without
leaving Unicorn. Anything else (vm_ops faults, signals) answers VM_FAULT_RETRY and the fault
takes the slow path through the architecture's exception entry, as before.

Not modelled: swap (so no major faults from anonymous memory), huge pages, the zero page
(a read fault allocates a zeroed page rather than mapping ZERO_PAGE), userfaultfd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SHIFT, PAGE_SIZE
from emulator.kernel.gfp import GFP_HIGHUSER
from emulator.kernel.mm.page_alloc import alloc_pages, get_page, pfn_to_page, put_page
from emulator.kernel.process import PROT_EXEC, PROT_WRITE, VM_SHARED

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import MmStruct, Vma

PAGE_MASK = ~(PAGE_SIZE - 1)

# include/linux/mm_types.h: vm_fault_t bits
VM_FAULT_OOM = 0x0001
VM_FAULT_SIGBUS = 0x0002
VM_FAULT_MAJOR = 0x0004
VM_FAULT_SIGSEGV = 0x0040
VM_FAULT_NOPAGE = 0x0100
VM_FAULT_RETRY = 0x0400
VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV

_ZERO_PAGE = bytes(PAGE_SIZE)


@dataclass(frozen=True, slots=True)
class VmOperationsStruct:
    """struct vm_operations_struct: `fault(vmf)` finds the page for a file or shared
    mapping (returning VM_FAULT_* bits, vmf.page set), `open(vma)` runs when a VMA is copied
    (fork, split), `close(vma)` when one goes away."""

    fault: Callable[[VmFault], int] | None = None
    open: Callable[[Vma], None] | None = None
    close: Callable[[Vma], None] | None = None


@dataclass
class VmFault:
    """struct vm_fault: what a vm_ops->fault handler gets, and `page` (a physical page
    address holding a reference for the caller) is what it returns."""

    vma: Vma
    address: int
    pgoff: int
    write: bool
    page: int | None = None


def _page(pa: int):  # type: ignore[no-untyped-def]
    return pfn_to_page(pa >> 12)


def alloc_user_page() -> int | None:
    """alloc_page(GFP_HIGHUSER_MOVABLE) without __GFP_ZERO: the caller fills it."""
    page = alloc_pages(_GFP_HIGHUSER, 0)
    return None if page is None else page.pfn << PAGE_SHIFT


def clear_user_highpage(k: Kernel, pa: int) -> None:
    """Zero a user page through the kernel's mapping and flush it (memory = cache, clean)."""
    k.cache.cpu_write_page_clean(pa, _ZERO_PAGE)


def copy_user_highpage(k: Kernel, dst: int, src: int) -> None:
    """Copy a user page as the CPU sees it (its cached contents), leaving the copy clean."""
    k.cache.cpu_write_page_clean(dst, k.phys_read(src, PAGE_SIZE))


def page_add_rmap(pa: int) -> None:
    """page_add_*_rmap: one more PTE maps the page."""
    _page(pa)._mapcount += 1


def page_remove_rmap_and_put(pa: int) -> None:
    """page_remove_rmap + put_page: a PTE stops mapping the page; the last reference frees it."""
    page = _page(pa)
    page._mapcount -= 1
    put_page(page)


def page_count(pa: int) -> int:
    return int(_page(pa)._refcount)


def _set_pte(k: Kernel, mm: MmStruct, vma: Vma, va: int, pa: int, writable: bool) -> None:
    k.pgtable.map_user_page(mm.pgd, va, pa, writable, bool(vma.prot & PROT_EXEC), vma.memtype)


# -- the fault handler --------------------------------------------------------------------------


def handle_mm_fault(
    k: Kernel, mm: MmStruct, vma: Vma, addr: int, write: bool, atomic: bool = False
) -> int:
    """handle_mm_fault() → handle_pte_fault(), for an access the VMA allows: 0 when the PTE
    is fixed, else VM_FAULT_* bits. `atomic`: called from the TLB-fill hook, where only
    anonymous and copy-on-write faults are handled (others answer VM_FAULT_RETRY)."""
    va = addr & PAGE_MASK
    present = mm.pages.get(va)
    if present is not None:
        if write and vma.prot & PROT_WRITE and not vma.flags & VM_SHARED:
            return do_wp_page(k, mm, vma, va, present, atomic)
        return VM_FAULT_SIGSEGV  # mapped as the VMA allows and still faulting
    if vma.pfnmap is not None:
        if atomic:
            return VM_FAULT_RETRY
        pa = vma.pfnmap + (va - vma.start)
        _set_pte(k, mm, vma, va, pa, bool(vma.prot & PROT_WRITE))
        return VM_FAULT_NOPAGE
    if vma.vm_ops is not None and vma.vm_ops.fault is not None:
        return VM_FAULT_RETRY if atomic else do_fault(k, mm, vma, va, write)
    return do_anonymous_page(k, mm, vma, va)


def do_anonymous_page(k: Kernel, mm: MmStruct, vma: Vma, va: int) -> int:
    """A fresh zeroed page, mapped as the VMA allows."""
    pa = alloc_user_page()
    if pa is None:
        return VM_FAULT_OOM
    clear_user_highpage(k, pa)
    page_add_rmap(pa)
    _set_pte(k, mm, vma, va, pa, bool(vma.prot & PROT_WRITE))
    mm.pages[va] = pa
    return 0


def do_wp_page(k: Kernel, mm: MmStruct, vma: Vma, va: int, old: int, atomic: bool) -> int:
    """A write to a present read-only page of a writable private VMA: copy-on-write. Sole
    holder: reuse it (wp_page_reuse); else copy (wp_page_copy). The old PTE is replaced;
    from the fill hook no TLB flush is needed (the fill itself replaces the entry)."""
    if page_count(old) == 1:
        _map_replacing(k, mm, vma, va, old, atomic)
        return 0
    new = alloc_user_page()
    if new is None:
        return VM_FAULT_OOM
    copy_user_highpage(k, new, old)
    page_add_rmap(new)
    _map_replacing(k, mm, vma, va, new, atomic)
    mm.pages[va] = new
    page_remove_rmap_and_put(old)
    return 0


def _map_replacing(k: Kernel, mm: MmStruct, vma: Vma, va: int, pa: int, atomic: bool) -> None:
    k.pgtable.map_user_page(
        mm.pgd, va, pa, True, bool(vma.prot & PROT_EXEC), vma.memtype, flush=not atomic
    )


def do_fault(k: Kernel, mm: MmStruct, vma: Vma, va: int, write: bool) -> int:
    """do_read_fault / do_cow_fault / do_shared_fault: vm_ops->fault finds the page; a
    private mapping written to gets its own copy, a shared one maps the page itself."""
    assert vma.vm_ops is not None and vma.vm_ops.fault is not None
    vmf = VmFault(vma, va, vma.pgoff + (va - vma.start) // PAGE_SIZE, write)
    ret = vma.vm_ops.fault(vmf)
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE) or vmf.page is None:
        return ret
    pa = vmf.page
    shared = bool(vma.flags & VM_SHARED)
    if write and not shared:  # do_cow_fault: a private copy, the file's page released
        new = alloc_user_page()
        if new is None:
            _put(pa)
            return VM_FAULT_OOM
        copy_user_highpage(k, new, pa)
        _put(pa)
        pa = new
    page_add_rmap(pa)
    writable = bool(vma.prot & PROT_WRITE) and (shared or write)
    _set_pte(k, mm, vma, va, pa, writable)
    mm.pages[va] = pa
    return ret


def _put(pa: int) -> None:
    put_page(_page(pa))


# -- fork and unmap -----------------------------------------------------------------------------


def copy_page_range(k: Kernel, dst: MmStruct, src: MmStruct) -> None:
    """fork's copy of the present PTEs: shared mappings map the same page, private ones share
    it read-only in both parent and child until a write copies it (copy_present_pte)."""
    wrprotect = False
    for va, pa in sorted(src.pages.items()):
        vma = src.find_vma(va)
        if vma is None:
            continue
        get_page(_page(pa))
        page_add_rmap(pa)
        cow = not vma.flags & VM_SHARED
        writable = bool(vma.prot & PROT_WRITE) and not cow
        if cow and vma.prot & PROT_WRITE:
            _set_pte(k, src, vma, va, pa, False)  # ptep_set_wrprotect
            wrprotect = True
        _set_pte(k, dst, vma, va, pa, writable)
        dst.pages[va] = pa
    if wrprotect:
        k.cpu.flush_tlb()


def zap_page_range(k: Kernel, mm: MmStruct, start: int, end: int) -> None:
    """unmap_page_range: clear the PTEs of [start, end), dropping each page's reference;
    remap_pfn_range PTEs are only cleared."""
    pages = mm.pages
    if end - start <= len(pages) * PAGE_SIZE:
        vas = [va for va in range(start & PAGE_MASK, end, PAGE_SIZE) if va in pages]
    else:
        vas = sorted(va for va in pages if start <= va < end)
    cleared = 0
    for va in vas:  # (tlb_gather_mmu: one TLB flush for the range, at the end)
        k.pgtable.unmap_user_page(mm.pgd, va, flush=False)
        page_remove_rmap_and_put(pages.pop(va))
        cleared += 1
    for vma in mm.vmas:
        if vma.pfnmap is not None and vma.start < end and start < vma.end:
            for va in range(max(start, vma.start), min(end, vma.end), PAGE_SIZE):
                cleared += k.pgtable.unmap_user_page(mm.pgd, va, flush=False) is not None
    if cleared:
        k.cpu.flush_tlb()


_GFP_HIGHUSER = int(GFP_HIGHUSER)
