"""The buddy page allocator: boot state, split and coalesce, zones and GFP flags, watermarks,
__GFP_ZERO through the cache, failure and bad-page reports, refcounts, /proc output."""

from __future__ import annotations

import math
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.kernel.core import PAGE_SIZE, Kernel, KernelBug
from emulator.kernel.gfp import (
    __GFP_COMP,
    __GFP_HIGH,
    __GFP_MEMALLOC,
    __GFP_NOFAIL,
    __GFP_NOWARN,
    __GFP_ZERO,
    GFP_ATOMIC,
    GFP_DMA,
    GFP_HIGHUSER,
    GFP_KERNEL,
    GFP_NOWAIT,
)
from emulator.kernel.mm.page_alloc import (
    MAX_ORDER,
    Page,
    PageBuddy,
    PageFlags,
    PageHighMem,
    PageReserved,
    PglistData,
    Zone,
    ZoneType,
    __free_pages,
    __get_free_pages,
    alloc_page,
    alloc_pages,
    buddyinfo,
    free_page,
    free_pages,
    get_order,
    get_page,
    get_zeroed_page,
    gfp_zone,
    meminfo_fields,
    nr_free_pages,
    page_address,
    page_count,
    page_to_pfn,
    page_to_phys,
    pfn_to_page,
    pfn_valid,
    put_page,
    split_page,
    virt_to_page,
)

SMALL = 64 << 20
ARCHES = ("armv7", "x86")


def free_lists(pgdat: PglistData) -> list[tuple[str, list[list[int]]]]:
    return [(z.name, [sorted(fa.free_list) for fa in z.free_area]) for z in pgdat.node_zones]


def zone(k: Kernel, name: str) -> Zone:
    return next(z for z in k.page_alloc.node_zones if z.name == name)


def exhaust(gfp: int) -> list[tuple[Page, int]]:
    """Allocate with `gfp` until nothing more is given, biggest blocks first."""
    held = []
    for order in range(MAX_ORDER, -1, -1):
        while (page := alloc_pages(gfp | __GFP_NOWARN, order)) is not None:
            held.append((page, order))
    return held


def free_all(held: list[tuple[Page, int]]) -> None:
    for page, order in held:
        __free_pages(page, order)


# -- boot ---------------------------------------------------------------------------------------


def test_boot_frees_every_unreserved_page_and_reserves_the_rest(kernel):
    pgdat = kernel.page_alloc
    reserved = sum(-(-size // PAGE_SIZE) for _pa, size, _n in kernel.layout.reserved)
    present = sum(z.present_pages for z in pgdat.node_zones)
    assert nr_free_pages() == sum(z.managed_pages for z in pgdat.node_zones) == present - reserved
    for pa, _size, _name in kernel.layout.reserved:
        page = pfn_to_page(pa >> 12)
        assert PageReserved(page) and page_count(page) == 1
    assert kernel.subsystems["page_alloc"] is pgdat
    assert re.search(r"Memory: \d+K/1048576K available", kernel.log_text())


def test_buddyinfo_renders_proc_buddyinfo_exactly(arm_kernel):
    assert buddyinfo() == (
        "Node 0, zone   Normal      0      0      0      0      0      0      0      0"
        "      1      1    189 \n"
        "Node 0, zone  HighMem      0      0      0      0      0      0      0      0"
        "      0      0     66 \n"
    )


def test_buddyinfo_lists_x86s_dma_zone_first(x86_kernel):
    lines = buddyinfo().splitlines()
    assert [line[:22] for line in lines] == [
        "Node 0, zone      DMA ",
        "Node 0, zone   Normal ",
        "Node 0, zone  HighMem ",
    ]
    assert lines[0].endswith("     1      1      3 ")  # 16 MiB less the reserved first MiB
    assert all(len(line.split()) == 4 + 11 for line in lines)


def test_watermarks_follow_min_free_kbytes_as_linux_computes_them(arm_kernel):
    pgdat = arm_kernel.page_alloc
    normal, high = zone(arm_kernel, "Normal"), zone(arm_kernel, "HighMem")
    assert pgdat.min_free_kbytes == math.isqrt(normal.managed_pages * 4 * 16) == 3526
    assert normal._watermark == [881, 881 + 220, 881 + 2 * 220]  # min/4 beats 0.1%
    assert high.managed_pages == 264 << 8  # 264 MiB of highmem
    assert high._watermark == [66, 66 + 76, 66 + 2 * 76]  # managed/1024, clamped to 32..128
    assert normal.lowmem_reserve == [0, high.managed_pages // 32]


def test_booting_a_1gib_board_with_the_allocator_takes_well_under_half_a_second(boot_kernel):
    for arch in ARCHES:
        t = time.perf_counter()
        k = boot_kernel(arch)
        assert time.perf_counter() - t < 0.5
        assert k.page_alloc.node_zones[-1].name == "HighMem"


# -- split and coalesce ---------------------------------------------------------------------------


def test_an_order_0_allocation_splits_the_smallest_block_and_freeing_merges_it_back(boot_kernel):
    k = boot_kernel("armv7", SMALL)
    boot_state = free_lists(k.page_alloc)
    normal = zone(k, "Normal")
    assert [fa.nr_free for fa in normal.free_area] == [0] * 8 + [1, 1, 15]
    page = alloc_page(GFP_KERNEL)
    assert page is not None and page.pfn == 0x60100  # the order-8 block after the kernel's MiB
    assert [fa.nr_free for fa in normal.free_area] == [1] * 8 + [0, 1, 15]
    assert page_count(page) == 1 and not PageBuddy(page)
    __free_pages(page, 0)
    assert free_lists(k.page_alloc) == boot_state
    assert PageBuddy(page) and page.private == 8


def test_a_page_waits_on_the_free_list_until_its_buddy_at_pfn_xor_size_is_free(boot_kernel):
    k = boot_kernel("armv7", SMALL)
    boot_state = free_lists(k.page_alloc)
    a, b = alloc_page(GFP_KERNEL), alloc_page(GFP_KERNEL)
    assert a is not None and b is not None and b.pfn == a.pfn ^ 1
    __free_pages(a, 0)
    assert list(zone(k, "Normal").free_area[0].free_list) == [a.pfn]
    __free_pages(b, 0)
    assert free_lists(k.page_alloc) == boot_state


def test_the_page_freed_last_is_handed_out_first(boot_kernel):
    boot_kernel("x86", SMALL)
    pages = [alloc_page(GFP_KERNEL) for _ in range(4)]
    __free_pages(pages[0], 0)
    __free_pages(pages[2], 0)
    assert alloc_page(GFP_KERNEL) is pages[2]


def _zone_ok(page: Page, gfp: int, has_dma: bool) -> bool:
    want = gfp_zone(gfp)
    if want == ZoneType.ZONE_DMA and not has_dma:
        want = ZoneType.ZONE_NORMAL
    return page.zone.zone_type <= want


@pytest.mark.parametrize("arch, ram", [(a, r) for a in ARCHES for r in (SMALL, 1 << 30)])
def test_random_allocations_never_overlap_stay_in_their_zones_and_coalesce_back(
    boot_kernel, arch, ram
):
    k = boot_kernel(arch, ram)
    pgdat: PglistData = k.page_alloc
    boot_state = free_lists(pgdat)
    managed = sum(z.managed_pages for z in pgdat.node_zones)
    has_dma = any(z.zone_type == ZoneType.ZONE_DMA for z in pgdat.node_zones)
    mem_map = pgdat.node_mem_map
    op = st.tuples(
        st.booleans(),
        st.integers(0, MAX_ORDER),
        st.sampled_from([GFP_KERNEL, GFP_ATOMIC, GFP_DMA, GFP_HIGHUSER, GFP_KERNEL | __GFP_COMP]),
        st.integers(0, 1 << 16),
    )

    @settings(max_examples=25, deadline=None)
    @given(st.lists(op, min_size=20, max_size=150))
    def run(ops):
        held: dict[int, tuple[Page, int]] = {}
        owned: set[int] = set()
        for alloc, order, gfp, pick in ops:
            if alloc or not held:
                page = alloc_pages(gfp | __GFP_NOWARN, order)
                if page is None:
                    continue
                pfns = set(range(page.pfn, page.pfn + (1 << order)))
                assert owned.isdisjoint(pfns), "a page was handed out twice"
                assert page.pfn % (1 << order) == 0 and _zone_ok(page, gfp, has_dma)
                assert all(page.zone.zone_spans_pfn(p) and not mem_map.is_reserved(p) for p in pfns)
                owned |= pfns
                held[page.pfn] = (page, order)
            else:
                page, order = held.pop(sorted(held)[pick % len(held)])
                owned -= set(range(page.pfn, page.pfn + (1 << order)))
                __free_pages(page, order)
            assert nr_free_pages() + len(owned) == managed
        for z in pgdat.node_zones:  # the buddy invariant: no two free buddies below MAX_ORDER
            for order, fa in enumerate(z.free_area):
                for pfn, page in fa.free_list.items():
                    assert PageBuddy(page) and page.private == order and page.pfn == pfn
                    assert order == MAX_ORDER or pfn ^ (1 << order) not in fa.free_list
                    assert owned.isdisjoint(range(pfn, pfn + (1 << order)))
        free_all(list(held.values()))
        assert free_lists(pgdat) == boot_state
        assert "BUG" not in k.log_text()

    run()


# -- zones ----------------------------------------------------------------------------------------


def test_highmem_allocations_come_from_highmem_and_have_no_kernel_address(kernel):
    page = alloc_pages(GFP_HIGHUSER | __GFP_ZERO, 1)
    assert page is not None and page.zone.name == "HighMem" and PageHighMem(page)
    assert page_address(page) is None  # until kmap()
    assert kernel.phys_read(page_to_phys(page), 2 * PAGE_SIZE) == bytes(2 * PAGE_SIZE)
    highmem_mib = {"armv7": 264, "x86": 128}[kernel.machine.board.arch]
    assert zone(kernel, "HighMem").managed_pages == highmem_mib << 8
    lowmem = alloc_page(GFP_KERNEL)
    assert lowmem is not None and not PageHighMem(lowmem) and page_address(lowmem)


def test_highuser_falls_back_to_normal_once_highmem_is_exhausted(kernel):
    held = exhaust(GFP_HIGHUSER)
    zones = {page.zone.name for page, _order in held}
    assert zones >= {"HighMem", "Normal"}
    high = zone(kernel, "HighMem")
    assert high.nr_free_pages == high.min_wmark_pages()
    free_all(held)


def test_gfp_dma_on_x86_comes_from_the_first_16_mib(x86_kernel):
    pages = [alloc_pages(GFP_DMA, order) for order in (0, 3, 10)]
    assert all(p is not None and p.zone.name == "DMA" for p in pages)
    assert all(p.pfn + 1 <= 16 << 8 for p in pages if p is not None)


def test_gfp_dma_on_an_arm_board_without_a_dma_zone_means_normal(arm_kernel):
    page = alloc_page(GFP_DMA)
    assert page is not None and page.zone.name == "Normal"


def test_normal_allocations_leave_x86s_dma_zone_its_lowmem_reserve(boot_kernel):
    k = boot_kernel("x86", SMALL)
    held = exhaust(GFP_KERNEL)
    dma, normal = zone(k, "DMA"), zone(k, "Normal")
    assert normal.nr_free_pages == normal.min_wmark_pages()
    assert dma.nr_free_pages == dma.min_wmark_pages() + dma.lowmem_reserve[normal.idx]
    assert alloc_page(GFP_DMA) is not None  # GFP_DMA itself may still use that reserve
    assert {page.zone.name for page, _ in held} == {"DMA", "Normal"}


# -- watermarks and GFP flags ------------------------------------------------------------------


def test_an_ordinary_allocation_fails_at_the_min_watermark_while_gfp_atomic_goes_below(
    boot_kernel,
):
    k = boot_kernel("armv7", SMALL)
    boot_state = free_lists(k.page_alloc)
    normal = zone(k, "Normal")
    m = normal.min_wmark_pages()
    held = exhaust(GFP_KERNEL)
    assert normal.nr_free_pages == m
    assert alloc_page(GFP_NOWAIT | __GFP_NOWARN) is None  # non-blocking but not __GFP_HIGH
    held += exhaust(GFP_KERNEL | __GFP_HIGH)
    assert normal.nr_free_pages == m - m // 2
    held += exhaust(GFP_ATOMIC)
    half = m - m // 2
    assert normal.nr_free_pages == half - half // 4
    held += exhaust(GFP_KERNEL | __GFP_MEMALLOC)
    assert normal.nr_free_pages == 0
    assert "page allocation failure" not in k.log_text()  # all asked for __GFP_NOWARN
    free_all(held)
    assert free_lists(k.page_alloc) == boot_state


def test_gfp_nofail_ignores_the_watermarks_and_warns_only_when_memory_is_gone(boot_kernel):
    k = boot_kernel("armv7", SMALL)
    held = exhaust(GFP_KERNEL)
    page = alloc_page(GFP_KERNEL | __GFP_NOFAIL)
    assert page is not None and "WARNING" not in k.log_text()
    held += [(page, 0)] + exhaust(GFP_KERNEL | __GFP_MEMALLOC)
    assert alloc_page(GFP_KERNEL | __GFP_NOFAIL) is None
    log = k.log_text()
    assert "WARNING: at mm/page_alloc.c __alloc_pages: __GFP_NOFAIL order-0" in log
    assert "page allocation failure: order:0, mode:0x8cc0(GFP_KERNEL|__GFP_NOFAIL)" in log
    free_all(held)


def test_gfp_nofail_without_direct_reclaim_is_refused_as_in_linux(boot_kernel):
    k = boot_kernel("x86", SMALL)
    held = exhaust(GFP_ATOMIC)
    assert alloc_page(GFP_ATOMIC | __GFP_NOFAIL) is None
    assert "__GFP_NOFAIL without __GFP_DIRECT_RECLAIM" in k.log_text()
    free_all(held)


def test_gfp_zero_pages_read_as_zero_while_the_zeros_sit_dirty_in_the_cache(boot_kernel):
    for arch in ARCHES:
        k = boot_kernel(arch, SMALL)
        page = alloc_page(GFP_KERNEL)
        va, pa = page_address(page), page_to_phys(page)
        k.mem_write(va, b"\xa5" * PAGE_SIZE)  # the page's last owner
        k.cache.clean(pa, PAGE_SIZE)
        __free_pages(page, 0)
        again = alloc_page(GFP_KERNEL | __GFP_ZERO)
        assert again is page
        assert k.mem_read(va, PAGE_SIZE) == bytes(PAGE_SIZE)
        lines = {pa + off for off in range(0, PAGE_SIZE, k.cache.line)}
        assert lines <= set(k.cache.dirty_lines())
        assert k.machine.bus.read(pa, 16) == b"\xa5" * 16  # what a non-snooping device reads


def test_a_gfp_kernel_allocation_in_an_interrupt_handler_is_reported(arm_kernel):
    with arm_kernel.context.hardirq():
        page = alloc_page(GFP_KERNEL)
    assert page is not None  # Linux reports, then goes on
    log = arm_kernel.log_text()
    assert "BUG: sleeping function called from invalid context at __alloc_pages" in log
    assert "in_atomic(): 1, irqs_disabled(): 1" in log


def test_gfp_atomic_in_an_interrupt_handler_is_fine(arm_kernel):
    with arm_kernel.context.hardirq():
        assert alloc_pages(GFP_ATOMIC, 2) is not None
    assert "BUG" not in arm_kernel.log_text()


# -- failure reports --------------------------------------------------------------------------


def test_an_allocation_failure_prints_warn_allocs_report(boot_kernel):
    k = boot_kernel("armv7", SMALL)
    held = exhaust(GFP_KERNEL)
    before = len(k.dmesg)
    assert alloc_pages(GFP_KERNEL | __GFP_ZERO, 3) is None
    report = k.dmesg[before:]
    assert report[0] == (
        "<4>swapper/0: page allocation failure: order:3, mode:0xdc0(GFP_KERNEL|__GFP_ZERO), "
        "nodemask=(null)"
    )
    assert re.fullmatch(
        r"<4>  caller: test_an_allocation_failure_\w+ \(test_page_alloc.py:\d+\)", report[1]
    )
    assert report[2:5] == [
        "<4>Mem-Info:",
        "<4>Normal free:1012kB min:1012kB low:1264kB high:1516kB present:65536kB managed:64512kB",
        "<4>lowmem_reserve[]: 0",
    ]
    assert re.fullmatch(r"<4>Normal: (\d+\*\d+kB ){11}= 1012kB", report[5])
    free_all(held)


def test_gfp_nowarn_keeps_a_failure_silent(boot_kernel):
    k = boot_kernel("x86", SMALL)
    held = exhaust(GFP_KERNEL)
    before = list(k.dmesg)
    assert alloc_pages(GFP_KERNEL | __GFP_NOWARN, 5) is None
    assert k.dmesg == before
    free_all(held)


def test_an_order_above_max_order_warns_and_fails(arm_kernel):
    assert alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_ORDER + 1) is None
    assert "WARNING" not in arm_kernel.log_text()
    assert alloc_pages(GFP_KERNEL, MAX_ORDER + 1) is None
    assert "WARNING: at mm/page_alloc.c __alloc_pages: order 11 > MAX_ORDER (10)" in (
        arm_kernel.log_text()
    )


def test_get_free_pages_refuses_highmem(arm_kernel):
    assert __get_free_pages(GFP_HIGHUSER, 0) == 0
    assert "at mm/page_alloc.c __get_free_pages: __GFP_HIGHMEM" in arm_kernel.log_text()


# -- bad frees ------------------------------------------------------------------------------------


def test_a_double_free_is_a_bad_page_and_leaves_the_free_lists_alone(kernel):
    page = alloc_page(GFP_KERNEL)
    __free_pages(page, 0)
    state, free = buddyinfo(), nr_free_pages()
    __free_pages(page, 0)
    log = kernel.log_text()
    assert f"BUG: Bad page state in process swapper/0  pfn:{page.pfn:05x}" in log
    assert f"page: refcount:0 mapcount:0 mapping:00000000 index:0x0 pfn:{page.pfn:#x}" in log
    assert (
        "page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0): "
        "the page is already free" in log
    )
    assert "caller: test_a_double_free" in log
    assert buddyinfo() == state and nr_free_pages() == free


def test_freeing_a_reserved_page_is_a_bad_page(kernel):
    page = pfn_to_page(kernel.layout.PHYS_OFFSET >> 12)
    free = nr_free_pages()
    __free_pages(page, 0)
    log = kernel.log_text()
    assert "flags: 0x1000(reserved|zone=0)" in log
    assert "page dumped because: PAGE_FLAGS_CHECK_AT_FREE flag(s) set" in log
    assert nr_free_pages() == free and not PageBuddy(page)


def test_freeing_a_tail_page_or_a_bigger_block_than_allocated_is_a_bad_page(boot_kernel):
    k = boot_kernel("armv7", SMALL)
    block = alloc_pages(GFP_KERNEL, 2)
    state = buddyinfo()
    __free_pages(pfn_to_page(block.pfn + 1), 0)
    assert "not the first page of an allocation" in k.log_text()
    page = alloc_page(GFP_KERNEL)  # its buddy is free
    state = buddyinfo()
    __free_pages(page, 1)
    assert "page dumped because: PageBuddy: the page is already free" in k.log_text()
    assert buddyinfo() == state


def test_a_strict_kernel_raises_on_a_bad_free(boot_kernel):
    boot_kernel("x86", SMALL, strict=True)
    page = alloc_page(GFP_KERNEL)
    __free_pages(page, 0)
    with pytest.raises(KernelBug, match="Bad page state"):
        __free_pages(page, 0)


def test_free_pages_of_a_non_linear_address_is_a_bug(arm_kernel):
    free = nr_free_pages()
    free_pages(arm_kernel.layout.VMALLOC_START, 0)
    assert "VM_BUG_ON(!virt_addr_valid(0xf0000000))" in arm_kernel.log_text()
    assert nr_free_pages() == free


# -- references and compound pages ------------------------------------------------------------


def test_a_page_with_a_second_reference_survives_free_until_put_page(boot_kernel):
    k = boot_kernel("armv7", SMALL)
    boot_state = free_lists(k.page_alloc)
    page = alloc_pages(GFP_KERNEL, 2)
    get_page(page)
    assert page_count(page) == 2
    __free_pages(page, 2)  # frees the three other pages now
    assert page_count(page) == 1 and nr_free_pages() == 16128 - 1
    put_page(page)
    assert free_lists(k.page_alloc) == boot_state


def test_a_compound_page_is_referenced_and_freed_through_any_of_its_pages(boot_kernel):
    k = boot_kernel("x86", SMALL)
    boot_state = free_lists(k.page_alloc)
    head = alloc_pages(GFP_KERNEL | __GFP_COMP, 3)
    tail = pfn_to_page(head.pfn + 5)
    assert head.flags & PageFlags.PG_head and head.compound_order == 3
    assert tail.compound_head is head and page_count(tail) == 1
    get_page(tail)
    assert page_count(head) == 2
    put_page(head)
    put_page(tail)
    assert free_lists(k.page_alloc) == boot_state and tail.compound_head is None


def test_split_page_makes_each_page_freeable_on_its_own(boot_kernel):
    k = boot_kernel("armv7", SMALL)
    boot_state = free_lists(k.page_alloc)
    block = alloc_pages(GFP_KERNEL, 2)
    split_page(block, 2)
    for pfn in (block.pfn + 3, block.pfn, block.pfn + 1, block.pfn + 2):
        __free_pages(pfn_to_page(pfn), 0)
    assert free_lists(k.page_alloc) == boot_state


# -- addresses ------------------------------------------------------------------------------------


def test_get_free_pages_addresses_are_lowmem_linear_map_addresses(kernel):
    lay = kernel.layout
    boot_state = free_lists(kernel.page_alloc)
    addr = __get_free_pages(GFP_KERNEL, 1)
    page = virt_to_page(addr)
    assert page_to_phys(page) == addr - lay.PAGE_OFFSET + lay.PHYS_OFFSET
    assert page_address(page) == addr and page_to_pfn(page) == page.pfn
    zeroed = get_zeroed_page(GFP_KERNEL)
    assert kernel.mem_read(zeroed, PAGE_SIZE) == bytes(PAGE_SIZE)
    free_pages(addr, 1)
    free_page(zeroed)
    free_pages(0, 3)  # ignored, as in Linux
    assert free_lists(kernel.page_alloc) == boot_state


def test_pfn_valid_covers_dram_only(kernel):
    board = kernel.machine.board
    first, end = board.ram_base >> 12, (board.ram_base + board.ram_size) >> 12
    assert pfn_valid(first) and pfn_valid(end - 1) and not pfn_valid(end)
    assert pfn_to_page(end - 1).zone.name == "HighMem"
    with pytest.raises(KernelBug):
        pfn_to_page(end)
    assert "pfn_valid() is false" in kernel.log_text()


def test_get_order_rounds_up_to_a_power_of_two_pages():
    assert [get_order(n) for n in (1, 4096, 4097, 8192, 8193, 4 << 20)] == [0, 0, 1, 1, 2, 10]


# -- /proc/meminfo --------------------------------------------------------------------------------


def test_meminfo_fields_add_up_and_follow_allocations(kernel):
    info = meminfo_fields()
    assert info["MemTotal"] == info["LowTotal"] + info["HighTotal"]
    assert info["MemFree"] == info["LowFree"] + info["HighFree"] == nr_free_pages() * 4
    assert info["MemAvailable"] == info["MemFree"] - 4 * kernel.page_alloc.totalreserve_pages
    assert info["HighTotal"] == {"armv7": 264, "x86": 128}[kernel.machine.board.arch] << 10
    alloc_pages(GFP_KERNEL, 2)
    assert meminfo_fields()["MemFree"] == info["MemFree"] - 16
    assert meminfo_fields()["LowFree"] == info["LowFree"] - 16
