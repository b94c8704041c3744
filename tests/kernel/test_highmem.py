"""Highmem: kmap() gives refcounted pkmap slots that map the right physical page, kmap_atomic()
a per-CPU stack of fixmap slots whose misuse (out-of-order unmapping, nesting too deep,
sleeping) is reported as Linux reports it. The boards have 1 GiB, so both have highmem."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.board import load_board
from emulator.kernel.context import in_atomic
from emulator.kernel.core import PAGE_SIZE, Kernel, KernelBug
from emulator.kernel.gfp import GFP_HIGHUSER, GFP_KERNEL
from emulator.kernel.mm.highmem import (
    KM_TYPE_NR,
    kmap,
    kmap_atomic,
    kmap_flush_unused,
    kmap_local_page,
    kmap_to_page,
    kunmap,
    kunmap_atomic,
    kunmap_local,
)
from emulator.kernel.mm.page_alloc import Page, PageHighMem, alloc_page, page_address, page_to_phys
from emulator.machine import Machine
from emulator.mmu import MemType


def highmem_page() -> Page:
    page = alloc_page(GFP_HIGHUSER)
    assert page is not None and PageHighMem(page)
    return page


def in_pkmap(k: Kernel, addr: int) -> bool:
    lay = k.layout
    return lay.PKMAP_BASE <= addr < lay.PKMAP_BASE + lay.LAST_PKMAP * PAGE_SIZE


def test_kmap_of_a_lowmem_page_is_its_linear_map_address(kernel: Kernel) -> None:
    page = alloc_page(GFP_KERNEL)
    assert page is not None and not PageHighMem(page)
    addr = kmap(page)
    assert addr == page_address(page)
    assert kernel.layout.PAGE_OFFSET <= addr < kernel.layout.high_memory
    kunmap(page)
    assert kmap_atomic(page) == addr
    kunmap_atomic(addr)


def test_kmap_of_a_highmem_page_maps_that_physical_page_in_the_pkmap_area(kernel: Kernel) -> None:
    page = highmem_page()
    assert page_address(page) is None
    addr = kmap(page)
    assert in_pkmap(kernel, addr) and addr % PAGE_SIZE == 0
    assert page.virtual == addr and page_address(page) == addr
    assert kernel.pgtable.lookup(addr) == (page_to_phys(page), MemType.WRITE_BACK)
    kernel.mem_write(addr + 100, b"highmem")
    assert kernel.phys_read(page_to_phys(page) + 100, 7) == b"highmem"
    assert kmap_to_page(addr + 100) is page


def test_kmap_is_refcounted_and_the_slot_is_recycled_lazily_as_in_linux(kernel: Kernel) -> None:
    page, other = highmem_page(), highmem_page()
    addr = kmap(page)
    assert kmap(page) == addr  # a second user shares the slot
    assert kmap(other) != addr
    kunmap(page)
    kunmap(page)
    # the last kunmap keeps the mapping until the pkmap slots are flushed
    assert page_address(page) == addr
    assert kernel.pgtable.lookup(addr) is not None
    kmap_flush_unused()
    assert page_address(page) is None
    assert kernel.pgtable.lookup(addr) is None
    assert page_address(other) is not None  # still in use
    kunmap(other)


def test_kunmap_of_a_page_that_is_not_kmapped_is_a_bug(kernel: Kernel) -> None:
    page = highmem_page()
    kunmap(page)
    assert "kunmap_high(): pfn" in kernel.log_text() and "is not kmapped" in kernel.log_text()
    kmap(page)
    kunmap(page)
    kunmap(page)  # the mapping is still there (count 1): one kunmap too many
    assert "unmapped more often than it was kmapped" in kernel.log_text()


def test_kmap_may_sleep_so_calling_it_in_atomic_context_is_reported(kernel: Kernel) -> None:
    page = highmem_page()
    with kernel.context.hardirq():
        kmap(page)
    assert "sleeping function called from invalid context at kmap (mm/highmem.c)" in (
        kernel.log_text()
    )


def test_kmap_atomic_slots_nest_in_the_fixmap_and_make_the_context_atomic(kernel: Kernel) -> None:
    lay = kernel.layout
    p1, p2 = highmem_page(), highmem_page()
    a1 = kmap_atomic(p1)
    a2 = kmap_atomic(p2)
    assert in_atomic()
    assert a1 != a2
    for addr, page in ((a1, p1), (a2, p2)):
        assert lay.FIXADDR_START <= addr < lay.FIXADDR_TOP
        assert kernel.pgtable.lookup(addr) == (page_to_phys(page), MemType.WRITE_BACK)
        assert kmap_to_page(addr) is page
    kernel.mem_write(a2, b"atomic")
    assert kernel.phys_read(page_to_phys(p2), 6) == b"atomic"
    kunmap_atomic(a2)
    kunmap_atomic(a1)
    assert not in_atomic()
    assert kernel.pgtable.lookup(a1) is None and kernel.pgtable.lookup(a2) is None
    assert "BUG" not in kernel.log_text()


def test_kunmap_atomic_out_of_order_is_a_bug_and_drops_the_innermost_mapping(
    kernel: Kernel,
) -> None:
    p1, p2 = highmem_page(), highmem_page()
    a1 = kmap_atomic(p1)
    a2 = kmap_atomic(p2)
    kunmap_atomic(a1)  # should have been a2 first
    log = kernel.log_text()
    assert f"kunmap_atomic({a1:#010x}) is not the last mapped slot" in log
    assert "test_kunmap_atomic_out_of_order_is_a_bug" in log
    assert kernel.pgtable.lookup(a2) is None  # Linux clears the top slot, as here
    assert kernel.pgtable.lookup(a1) is not None  # and leaves the one it was given


def test_kmap_atomic_nested_deeper_than_km_type_nr_is_a_bug(kernel: Kernel) -> None:
    pages = [highmem_page() for _ in range(KM_TYPE_NR + 1)]
    for page in pages[:KM_TYPE_NR]:
        kmap_atomic(page)
    with pytest.raises(KernelBug):
        kmap_atomic(pages[-1])
    assert f"more than KM_TYPE_NR ({KM_TYPE_NR}) atomic kmaps nested" in kernel.log_text()


def test_kmap_local_shares_the_slot_stack_but_keeps_the_context_preemptible(
    kernel: Kernel,
) -> None:
    p1, p2 = highmem_page(), highmem_page()
    local = kmap_local_page(p1)
    assert not in_atomic()
    atomic = kmap_atomic(p2)
    assert atomic != local and in_atomic()
    kunmap_atomic(atomic)
    kunmap_local(local)
    assert not in_atomic() and "BUG" not in kernel.log_text()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=40))
def test_kmap_and_kunmap_in_any_order_keep_one_slot_per_page(
    ops: list[tuple[int, bool]],
) -> None:
    k = Kernel(Machine(load_board("x86", 1 << 30), log=lambda msg: None), echo=False).boot()
    pages = [highmem_page() for _ in range(4)]
    users = [0] * 4
    for i, do_map in ops:
        if do_map:
            kmap(pages[i])
            users[i] += 1
        elif users[i]:
            kunmap(pages[i])
            users[i] -= 1
        addrs = [p.virtual for p, n in zip(pages, users, strict=True) if n]
        assert None not in addrs and len(set(addrs)) == len(addrs)
        for page, n in zip(pages, users, strict=True):
            if n:
                assert page.virtual is not None
                assert k.pgtable.lookup(page.virtual) == (page_to_phys(page), MemType.WRITE_BACK)
    assert "BUG" not in k.log_text()
