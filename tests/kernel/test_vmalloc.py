"""vmalloc: virtually contiguous areas in the vmalloc range, each followed by an unmapped guard
page, built from single (often highmem) pages and mapped through the real kernel page tables;
/proc/vmallocinfo in Linux's format; Linux's warnings for misuse."""

from __future__ import annotations

import inspect
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.board import load_board
from emulator.cpu.base import TranslationFault
from emulator.kernel.core import PAGE_SIZE, Kernel
from emulator.kernel.gfp import GFP_KERNEL
from emulator.kernel.mm.ioremap import ioremap
from emulator.kernel.mm.page_alloc import Page, alloc_page, nr_free_pages, page_to_phys
from emulator.kernel.mm.vmalloc import (
    VM_MAP,
    VM_NO_GUARD,
    find_vm_area,
    get_consistent_vm_area,
    get_vm_area,
    get_vm_area_size,
    is_vmalloc_addr,
    remove_vm_area,
    vfree,
    vmalloc,
    vmalloc_to_page,
    vmalloc_to_pfn,
    vmallocinfo,
    vmap,
    vunmap,
    vzalloc,
)
from emulator.machine import Machine
from emulator.mmu import MemType

SYSCON = {"armv7": 0x1000_0000, "x86": 0xFE00_0000}


def boot_small() -> Kernel:
    machine = Machine(load_board("armv7", 64 << 20), log=lambda msg: None)
    return Kernel(machine, echo=False).boot()


def alloc_pages_list(n: int) -> list[Page]:
    pages = [alloc_page(GFP_KERNEL) for _ in range(n)]
    assert all(p is not None for p in pages)
    return [p for p in pages if p is not None]


def next_line() -> int:
    """The line number after the caller's: where the call under test is."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno + 1


def test_areas_are_page_aligned_disjoint_and_each_is_followed_by_an_unmapped_guard_page(
    kernel: Kernel,
) -> None:
    lay = kernel.layout
    sizes = [1, 4096, 5000, 3 * 4096, 100]
    addrs = [vmalloc(n) for n in sizes]
    spans = []
    for addr, n in zip(addrs, sizes, strict=True):
        assert addr is not None and addr % PAGE_SIZE == 0
        area = find_vm_area(addr)
        assert area is not None and area.addr == addr
        usable = get_vm_area_size(area)
        assert usable == -(-n // PAGE_SIZE) * PAGE_SIZE
        assert area.size == usable + PAGE_SIZE  # the guard page
        assert lay.VMALLOC_START <= addr and addr + area.size <= lay.VMALLOC_END
        assert is_vmalloc_addr(addr)
        kernel.cpu.translate(addr + usable - 1)  # the last usable byte is mapped
        with pytest.raises(TranslationFault):
            kernel.cpu.translate(addr + usable)  # the guard page is not
        spans.append((addr, addr + area.size))
    spans.sort()
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))


def test_reading_or_writing_past_the_end_of_an_area_faults_in_the_guard_page(
    kernel: Kernel,
) -> None:
    addr = vmalloc(2 * PAGE_SIZE)
    assert addr is not None
    kernel.mem_write(addr + 2 * PAGE_SIZE - 4, b"tail")
    with pytest.raises(TranslationFault):
        kernel.mem_read(addr + 2 * PAGE_SIZE - 4, 8)  # runs 4 bytes into the guard page
    with pytest.raises(TranslationFault):
        kernel.mem_write(addr + 2 * PAGE_SIZE, b"x")


def test_memory_written_through_the_va_reads_back_through_mem_read_and_the_physical_pages(
    kernel: Kernel,
) -> None:
    n = 3 * PAGE_SIZE
    addr = vmalloc(n)
    assert addr is not None
    data = bytes((i * 7 + 3) & 0xFF for i in range(n))
    kernel.mem_write(addr, data)
    assert kernel.mem_read(addr, n) == data
    for i in range(3):
        page = vmalloc_to_page(addr + i * PAGE_SIZE + 123)
        assert page is not None
        assert vmalloc_to_pfn(addr + i * PAGE_SIZE) == page.pfn
        chunk = data[i * PAGE_SIZE : (i + 1) * PAGE_SIZE]
        assert kernel.phys_read(page_to_phys(page), PAGE_SIZE) == chunk
        assert kernel.pgtable.lookup(addr + i * PAGE_SIZE) == (
            page_to_phys(page),
            MemType.WRITE_BACK,
        )
    # vmalloc asks for __GFP_HIGHMEM: on a 1 GiB board the pages come from ZONE_HIGHMEM
    first = vmalloc_to_page(addr)
    assert first is not None and first.zone.name == "HighMem"


def test_vzalloc_memory_reads_as_zeros_even_on_reused_pages(kernel: Kernel) -> None:
    addr = vmalloc(2 * PAGE_SIZE)
    assert addr is not None
    kernel.mem_write(addr, b"\xaa" * 2 * PAGE_SIZE)
    vfree(addr)
    zeroed = vzalloc(2 * PAGE_SIZE)
    assert zeroed is not None
    assert kernel.mem_read(zeroed, 2 * PAGE_SIZE) == bytes(2 * PAGE_SIZE)


def test_vfree_unmaps_the_area_and_gives_every_page_back(kernel: Kernel) -> None:
    free_before = nr_free_pages()
    addr = vmalloc(5 * PAGE_SIZE)
    assert addr is not None
    assert nr_free_pages() == free_before - 5
    vfree(addr)
    assert nr_free_pages() == free_before
    assert find_vm_area(addr) is None
    with pytest.raises(TranslationFault):
        kernel.cpu.translate(addr)
    assert vmallocinfo() == ""


def test_vmallocinfo_shows_each_area_in_linuxs_format_with_its_caller(kernel: Kernel) -> None:
    start = kernel.layout.VMALLOC_START
    me = "test_vmallocinfo_shows_each_area_in_linuxs_format_with_its_caller (test_vmalloc.py"
    line_a = next_line()
    a = vmalloc(5000)
    pages = alloc_pages_list(2)
    line_b = next_line()
    b = vmap(pages, 2, VM_MAP, MemType.WRITE_BACK)
    phys = SYSCON[kernel.machine.board.arch]
    line_c = next_line()
    c = ioremap(phys + 0x10, 4)
    assert a == start and b == start + 0x3000 and c == start + 0x6000 + 0x10
    assert vmallocinfo() == (
        f"0x{start:08x}-0x{start + 0x3000:08x}   12288 {me}:{line_a}) pages=2 vmalloc\n"
        f"0x{start + 0x3000:08x}-0x{start + 0x6000:08x}   12288 {me}:{line_b}) vmap\n"
        f"0x{start + 0x6000:08x}-0x{start + 0x8000:08x}    8192 {me}:{line_c}) "
        f"phys=0x{phys:08x} ioremap\n"
    )


def test_vfree_of_an_address_vmalloc_never_returned_warns_like_linux(kernel: Kernel) -> None:
    start = kernel.layout.VMALLOC_START
    vfree(None)
    assert "WARNING" not in kernel.log_text()
    vfree(start + 0x100000)
    assert f"WARNING: Trying to vfree() nonexistent vm area ({start + 0x100000:08x})" in (
        kernel.log_text()
    )
    addr = vmalloc(100)
    assert addr is not None
    vfree(addr + 8)
    assert f"WARNING: Trying to vfree() bad address ({addr + 8:08x})" in kernel.log_text()
    vfree(addr)
    kernel.dmesg.clear()
    vfree(addr)  # a double free
    log = kernel.log_text()
    assert f"Trying to vfree() nonexistent vm area ({addr:08x})" in log
    assert "test_vfree_of_an_address_vmalloc_never_returned_warns_like_linux" in log


def my_driver_irq_handler() -> int | None:
    return vmalloc(PAGE_SIZE)


def test_vmalloc_in_atomic_context_reports_the_sleeping_function_bug(kernel: Kernel) -> None:
    with kernel.context.hardirq():
        my_driver_irq_handler()
    log = kernel.log_text()
    assert "BUG: sleeping function called from invalid context at vmalloc (mm/vmalloc.c)" in log
    assert "in_atomic(): 1, irqs_disabled(): 1" in log
    assert "my_driver_irq_handler (test_vmalloc.py:" in log


def test_vmap_maps_existing_pages_and_vunmap_leaves_them_allocated(kernel: Kernel) -> None:
    pages = alloc_pages_list(3)
    addr = vmap(pages, 3)
    assert addr is not None
    for i, page in enumerate(pages):
        assert vmalloc_to_page(addr + i * PAGE_SIZE) is page
    kernel.mem_write(addr + PAGE_SIZE, b"through vmap")
    assert kernel.phys_read(page_to_phys(pages[1]), 12) == b"through vmap"
    free_before = nr_free_pages()
    vunmap(addr)
    assert nr_free_pages() == free_before
    assert kernel.pgtable.lookup(addr) is None
    vunmap(addr)
    assert f"Trying to vunmap() nonexistent vm area ({addr:08x})" in kernel.log_text()


def test_vm_no_guard_areas_may_touch_their_neighbour(kernel: Kernel) -> None:
    a = get_vm_area(PAGE_SIZE, VM_MAP | VM_NO_GUARD)
    b = get_vm_area(PAGE_SIZE, VM_MAP)
    assert a is not None and b is not None
    assert a.size == PAGE_SIZE and b.addr == a.addr + PAGE_SIZE
    assert remove_vm_area(a.addr) is a and remove_vm_area(b.addr) is b


def test_freed_ranges_are_reused_lowest_address_first(kernel: Kernel) -> None:
    a, b, c = vmalloc(PAGE_SIZE), vmalloc(PAGE_SIZE), vmalloc(PAGE_SIZE)
    assert a is not None and b is not None and c is not None
    vfree(b)
    assert vmalloc(PAGE_SIZE) == b
    assert vmalloc(2 * PAGE_SIZE) == c + 2 * PAGE_SIZE  # b's hole is too small for it


def test_the_arm_consistent_dma_window_hands_out_areas_and_x86_has_none(kernel: Kernel) -> None:
    lay = kernel.layout
    area = get_consistent_vm_area(3 * PAGE_SIZE)
    if kernel.machine.board.arch == "armv7":
        assert area is not None
        assert lay.CONSISTENT_BASE <= area.addr < area.end <= lay.CONSISTENT_END
        assert not is_vmalloc_addr(area.addr)
        assert " dma-coherent" in vmallocinfo()
    else:
        assert area is None


def test_vmalloc_larger_than_ram_fails_with_warn_alloc(boot_kernel) -> None:  # type: ignore[no-untyped-def]
    k = boot_kernel("armv7", 64 << 20)
    assert vmalloc(128 << 20) is None
    assert "vmalloc error: size 134217728, exceeds total pages" in k.log_text()


def test_vmalloc_beyond_the_vmalloc_range_fails_without_leaking_pages(boot_kernel) -> None:  # type: ignore[no-untyped-def]
    k = boot_kernel("x86", 1 << 30)
    lay = k.layout
    free_before = nr_free_pages()
    assert vmalloc(lay.VMALLOC_END - lay.VMALLOC_START) is None  # no room for the guard page
    assert "vmalloc error: size" in k.log_text() and "vm_struct allocation failed" in k.log_text()
    assert nr_free_pages() == free_before


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_sequence_of_vmalloc_and_vfree_keeps_areas_disjoint_and_mapped(
    data: st.DataObject,
) -> None:
    k = boot_small()
    free_before = nr_free_pages()
    live: dict[int, int] = {}
    for _ in range(data.draw(st.integers(1, 12))):
        if data.draw(st.booleans()) and live:
            addr = data.draw(st.sampled_from(sorted(live)))
            vfree(addr)
            del live[addr]
        else:
            n = data.draw(st.integers(1, 5 * PAGE_SIZE))
            new = vmalloc(n)
            assert new is not None
            live[new] = n
            k.mem_write(new + n - 1, b"\x5a")
        spans = sorted((a.addr, a.end) for a in k.subsystems["vmalloc"].areas)
        assert len(spans) == len(live)
        assert all(x_end <= y_start for (_, x_end), (y_start, _) in pairwise(spans))
        for addr, n in live.items():
            assert k.mem_read(addr + n - 1, 1) == b"\x5a"
    for addr in live:
        vfree(addr)
    assert nr_free_pages() == free_before
