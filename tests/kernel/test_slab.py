"""SLUB and kmalloc: size classes per architecture, objects in guest memory seen through the
cache model, the DMA-safety of ARM kmalloc, slab debugging reports in SLUB's words, and the
allocator's invariants under random use."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.board import load_board
from emulator.kernel.core import Kernel, KernelBug, __pa
from emulator.kernel.gfp import __GFP_HIGHMEM, __GFP_NOWARN, GFP_ATOMIC, GFP_DMA, GFP_KERNEL
from emulator.kernel.mm.mmzone import PageFlags
from emulator.kernel.mm.page_alloc import (
    __free_pages,
    alloc_pages,
    nr_free_pages,
    page_address,
    virt_to_page,
)
from emulator.kernel.mm.slab import (
    KMALLOC_MAX_SIZE,
    SLAB_CONSISTENCY_CHECKS,
    SLAB_HWCACHE_ALIGN,
    SLAB_POISON,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    ZERO_SIZE_PTR,
    KmemCache,
    kcalloc,
    kfree,
    kmalloc,
    kmalloc_slab,
    kmem_cache_alloc,
    kmem_cache_create,
    kmem_cache_destroy,
    kmem_cache_free,
    kmem_cache_shrink,
    kmem_cache_validate,
    kmem_cache_zalloc,
    krealloc,
    ksize,
    kzalloc,
    slab_state,
    slabinfo,
    virt_to_cache,
)
from emulator.kernel.mm.vmalloc import vfree, vmalloc
from emulator.machine import Machine

FZPU = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER


def boot(arch: str, slub_debug: object = False, strict: bool = False) -> Kernel:
    k = Kernel(Machine(load_board(arch), log=lambda m: None), strict=strict, echo=False)
    k.slub_debug = slub_debug  # type: ignore[attr-defined] - the boot option, read at boot
    return k.boot()


@pytest.fixture(params=["armv7", "x86"])
def debug_kernel(request: pytest.FixtureRequest) -> Kernel:
    """A kernel booted with slub_debug (FZPU on every cache)."""
    return boot(request.param, slub_debug=True)


def report(k: Kernel) -> str:
    text = k.log_text()
    k.dmesg.clear()
    return text


def free_all_and_shrink(objs: Iterable[int | None]) -> None:
    for p in objs:
        kfree(p)
    for s in slab_state().slab_caches:
        kmem_cache_shrink(s)


# -- size classes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch, expected",
    [
        (
            "armv7",  # ARCH_DMA_MINALIGN 64: nothing below kmalloc-64, no kmalloc-96
            {1: "kmalloc-64", 65: "kmalloc-128", 96: "kmalloc-128", 129: "kmalloc-192",
             192: "kmalloc-192", 8192: "kmalloc-8k", 8193: None},
        ),
        (
            "x86",
            {1: "kmalloc-8", 65: "kmalloc-96", 96: "kmalloc-96", 129: "kmalloc-192",
             192: "kmalloc-192", 8192: "kmalloc-8k", 8193: None},
        ),
    ],
)  # fmt: skip
def test_kmalloc_size_classes_follow_the_architectures_minimum_alignment(arch, expected):
    k = boot(arch)
    for size, name in expected.items():
        cache = kmalloc_slab(size)
        assert (cache.name if cache else None) == name, size
        p = kmalloc(size, GFP_KERNEL)
        assert p is not None
        assert (virt_to_cache(p).name if virt_to_cache(p) else None) == name
        assert ksize(p) >= size
        kfree(p)
    names = [line.split()[0] for line in slabinfo().splitlines()[2:]]
    if arch == "armv7":
        assert names[-1] == "kmalloc-64" and "kmalloc-96" not in names
        assert not any(n.startswith("dma-") for n in names)  # no ZONE_DMA on this board
    else:
        assert names[-3:] == ["kmalloc-32", "kmalloc-16", "kmalloc-8"]
        assert "dma-kmalloc-96" in names
    assert report(k).count("BUG") == 0


def test_x86_gfp_dma_kmalloc_comes_from_the_dma_caches_below_16_mib(x86_kernel):
    p = kmalloc(100, GFP_KERNEL | GFP_DMA)
    assert virt_to_cache(p).name == "dma-kmalloc-128"
    assert __pa(p) < 16 << 20
    kfree(p)


def test_kmalloc_0_is_zero_size_ptr_and_kfree_accepts_it_and_none(kernel):
    assert kmalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR == 16
    kfree(ZERO_SIZE_PTR)
    kfree(None)
    assert ksize(ZERO_SIZE_PTR) == 0
    assert "BUG" not in kernel.log_text()


def test_kcalloc_zeroes_and_refuses_a_size_t_overflow(kernel):
    p = kcalloc(4, 16, GFP_KERNEL)
    assert kernel.mem_read(p, 64) == bytes(64)
    assert kcalloc(0x10000, 0x10001, GFP_KERNEL) is None
    kfree(p)


def test_no_two_arm_kmalloc_objects_share_a_64_byte_line(arm_kernel):
    @settings(max_examples=60, deadline=None)
    @given(sizes=st.lists(st.integers(1, 9000), min_size=2, max_size=24))
    def run(sizes: list[int]) -> None:
        ptrs = [kmalloc(n, GFP_KERNEL) for n in sizes]
        owner: dict[int, int] = {}
        for p, n in zip(ptrs, sizes, strict=True):
            assert p is not None and p % 64 == 0
            for line in range(p // 64, (p + n - 1) // 64 + 1):
                assert line not in owner, f"{p:#x} ({n} bytes) shares a line with {owner[line]:#x}"
                owner[line] = p
        free_all_and_shrink(ptrs)

    run()


# -- objects in guest memory, through the cache -------------------------------------------------


def test_kzalloc_zeroes_what_the_last_user_left_read_back_through_the_cpu(kernel):
    p = kmalloc(200, GFP_KERNEL)
    kernel.mem_write(p, b"\xee" * 200)
    kfree(p)
    q = kzalloc(200, GFP_KERNEL)
    assert q == p  # SLUB hands out the object freed last first
    assert kernel.mem_read(q, 200) == bytes(200)
    kfree(q)


def test_a_kmalloc_buffer_written_through_its_kernel_address_is_dirty_until_cleaned(kernel):
    p = kmalloc(64, GFP_KERNEL)
    pa, line = __pa(p), kernel.cpu.line_size
    data = b"DMA descriptor ring entry #0".ljust(64, b".")
    before = kernel.machine.bus.read(pa, 64)
    assert before != data
    kernel.mem_write(p, data)
    assert (pa & ~(line - 1)) in set(kernel.cache.dirty_lines())
    assert kernel.machine.bus.read(pa, 64) == before  # a device would still see old bytes
    kernel.cache.clean(pa, 64)
    assert kernel.machine.bus.read(pa, 64) == data
    kfree(p)


def test_krealloc_keeps_the_contents_when_it_moves_and_when_it_shrinks(kernel):
    p = kmalloc(10, GFP_KERNEL)
    kernel.mem_write(p, b"0123456789")
    q = krealloc(p, 3000, GFP_KERNEL)
    assert q != p and virt_to_cache(q).name == "kmalloc-4k"
    assert kernel.mem_read(q, 10) == b"0123456789"
    assert virt_to_cache(p) is not None and p in _free_objects(virt_to_cache(p))
    r = krealloc(q, 2000, GFP_KERNEL)
    assert r == q and kernel.mem_read(r, 10) == b"0123456789"
    assert krealloc(r, 0, GFP_KERNEL) == ZERO_SIZE_PTR
    assert "BUG" not in kernel.log_text()


def test_krealloc_in_debug_mode_moves_the_kmalloc_red_zone(debug_kernel):
    k = debug_kernel
    p = kmalloc(40, GFP_KERNEL)
    size = virt_to_cache(p).object_size
    k.mem_write(p, bytes(range(40)))
    assert krealloc(p, size, GFP_KERNEL) == p  # grows in place: all of it is usable now
    k.mem_write(p + 40, b"\x01" * (size - 40))
    assert krealloc(p, 8, GFP_KERNEL) == p  # shrinks: 8.. is red zone again
    assert k.mem_read(p + 8, size - 8) == b"\xcc" * (size - 8)
    kfree(p)
    assert "BUG" not in report(k)


def test_large_kmalloc_takes_compound_pages_and_kfree_gives_them_back(kernel):
    free0 = nr_free_pages()
    p = kmalloc(8193, GFP_KERNEL)  # above kmalloc-8k: order 2
    page = virt_to_page(p)
    assert p % 4096 == 0 and page_address(page) == p
    assert page.flags & PageFlags.PG_head and page.compound_order == 2
    assert virt_to_cache(p) is None and ksize(p) == 4 * 4096
    assert nr_free_pages() == free0 - 4
    big = kmalloc(KMALLOC_MAX_SIZE, GFP_KERNEL)
    assert big is not None and ksize(big) == KMALLOC_MAX_SIZE
    kfree(big)
    kfree(p)
    assert nr_free_pages() == free0
    assert "BUG" not in kernel.log_text()


def test_kmalloc_above_kmalloc_max_size_fails_with_a_warning_unless_nowarn(kernel):
    assert kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL) is None
    assert "WARNING: at mm/page_alloc.c __alloc_pages: order 11 > MAX_ORDER (10)" in report(kernel)
    assert kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN) is None
    assert kmalloc(-1, GFP_KERNEL | __GFP_NOWARN) is None  # size_t: a huge size
    assert report(kernel) == ""


def test_highmem_gfp_in_kmalloc_is_fixed_up_with_linuxs_warning(kernel):
    p = kmalloc(9000, GFP_KERNEL | __GFP_HIGHMEM)
    assert p is not None and page_address(virt_to_page(p)) == p  # lowmem all the same
    assert "Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0 (GFP_KERNEL)" in (
        report(kernel)
    )
    kfree(p)


# -- kmem_cache ---------------------------------------------------------------------------------


def test_a_cache_runs_its_constructor_once_per_object_when_a_slab_is_made(kernel):
    built: list[int] = []

    def ctor(obj: int) -> None:
        built.append(obj)
        kernel.mem_write(obj, b"ctor")

    s = kmem_cache_create("soclab_ctor", 48, 0, 0, ctor)
    p = kmem_cache_alloc(s, GFP_KERNEL)
    assert len(built) == s.objects and p in built
    assert kernel.mem_read(p, 4) == b"ctor"
    kmem_cache_free(s, p)
    q = kmem_cache_alloc(s, GFP_KERNEL)
    assert q == p and len(built) == s.objects  # constructed state is kept, not rebuilt
    kmem_cache_free(s, q)
    kmem_cache_destroy(s)
    assert "soclab_ctor" not in slabinfo()


@pytest.mark.parametrize("size, arm_align, x86_align", [(20, 32, 32), (100, 32, 64), (8, 8, 8)])
def test_hwcache_align_aligns_to_the_cpus_line_or_a_fitting_fraction(
    kernel, size, arm_align, x86_align
):
    s = kmem_cache_create("soclab_hw", size, 0, SLAB_HWCACHE_ALIGN)
    align = arm_align if kernel.machine.board.arch == "armv7" else x86_align
    assert s.align == align and s.size % align == 0
    objs = [kmem_cache_alloc(s, GFP_KERNEL) for _ in range(5)]
    assert all(p % align == 0 for p in objs)
    for p in objs:
        kmem_cache_free(s, p)
    kmem_cache_destroy(s)


def test_kmem_cache_zalloc_clears_the_object(kernel):
    s = kmem_cache_create("soclab_z", 72)
    p = kmem_cache_alloc(s, GFP_KERNEL)
    kernel.mem_write(p, b"\xff" * 72)
    kmem_cache_free(s, p)
    assert kmem_cache_zalloc(s, GFP_KERNEL) == p and kernel.mem_read(p, 72) == bytes(72)
    kmem_cache_free(s, p)
    kmem_cache_destroy(s)


def test_destroying_a_cache_with_live_objects_lists_them_and_keeps_the_cache(kernel):
    s = kmem_cache_create("soclab_leak", 100, 0, SLAB_STORE_USER)
    p = kmem_cache_alloc(s, GFP_KERNEL)
    kmem_cache_destroy(s)
    log = report(kernel)
    assert "BUG soclab_leak (Not tainted): Objects remaining in soclab_leak on " \
           "__kmem_cache_shutdown()" in log  # fmt: skip
    assert f"INFO: Object {p:#010x} @offset=0" in log
    assert "INFO: Allocated in test_destroying_a_cache_with_live_objects" in log
    assert "kmem_cache_destroy soclab_leak: Slab cache still has objects" in log
    assert "soclab_leak" in slabinfo()
    kmem_cache_free(s, p)
    kmem_cache_destroy(s)
    assert "soclab_leak" not in slabinfo() and report(kernel) == ""


def test_kmem_cache_create_refuses_bad_arguments(kernel):
    assert kmem_cache_create("", 10) is None
    assert kmem_cache_create("soclab_huge", KMALLOC_MAX_SIZE + 1) is None
    assert "kmem_cache_create(soclab_huge) failed with error -22" in report(kernel)
    from emulator.kernel.mm.slab import SLAB_PANIC

    with pytest.raises(KernelBug, match="Failed to create slab 'soclab_p'"):
        kmem_cache_create("soclab_p", 0, 0, SLAB_PANIC)


def test_slabinfo_has_linuxs_2_1_format_and_counts_like_slub(kernel):
    s = kmem_cache_create("soclab_info", 100)  # 104-byte slots, 39 to an order-0 slab
    objs = [kmem_cache_alloc(s, GFP_KERNEL) for _ in range(3)]
    lines = slabinfo().splitlines()
    assert lines[0] == "slabinfo - version: 2.1"
    assert lines[1] == (
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
        " : tunables <limit> <batchcount> <sharedfactor>"
        " : slabdata <active_slabs> <num_slabs> <sharedavail>"
    )
    # newest cache first; the CPU slab's free objects count as active, as in SLUB
    assert lines[2] == (
        "soclab_info           39     39    104   39    1 : tunables    0    0    0"
        " : slabdata      1      1      0"
    )
    kmem_cache_shrink(s)  # flushes the CPU slab to the partial list: exact counts
    assert slabinfo().splitlines()[2].startswith("soclab_info            3     39    104")
    for line in lines[2:]:
        assert re.fullmatch(
            r"\S+ *\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+ : tunables    0    0    0"
            r" : slabdata\s+(\d+)\s+\1      0",
            line,
        ), line
    for p in objs:
        kmem_cache_free(s, p)
    kmem_cache_destroy(s)


def test_empty_slabs_stay_up_to_min_partial_and_shrink_returns_them(kernel):
    free0 = nr_free_pages()
    s = kmem_cache_create("soclab_partial", 1000)  # 8 objects to an order-1 slab
    assert (s.objects, s.order) == (8, 1)
    objs = [kmem_cache_alloc(s, GFP_KERNEL) for _ in range(8 * s.objects)]
    assert len(s.slabs) == 8
    for p in objs:
        kmem_cache_free(s, p)
    # slabs 1-4 stay empty on the partial list (fewer than min_partial = 5 there), 5-7 go
    # back to the page allocator, slab 8 is the CPU slab
    assert s.min_partial == 5 and len(s.slabs) == 5
    assert nr_free_pages() == free0 - 5 * (1 << s.order)
    kmem_cache_shrink(s)
    assert s.slabs == [] and nr_free_pages() == free0
    kmem_cache_destroy(s)


# -- atomic context -------------------------------------------------------------------------------


def test_gfp_kernel_in_an_interrupt_handler_is_reported_once_and_gfp_atomic_is_not(kernel):
    with kernel.context.hardirq():
        p = kmalloc(3000, GFP_KERNEL)  # kmalloc-4k is empty: a new slab is needed too
    log = report(kernel)
    assert log.count("sleeping function called from invalid context") == 1
    assert "BUG: sleeping function called from invalid context at kmalloc (mm/slab.h)" in log
    assert "in_atomic(): 1, irqs_disabled(): 1" in log
    assert "test_gfp_kernel_in_an_interrupt_handler" in log
    with kernel.context.hardirq():
        q = kmalloc(3000, GFP_ATOMIC)
        r = kmalloc(60000, GFP_ATOMIC)
    assert p and q and r and report(kernel) == ""
    for x in (p, q, r):
        kfree(x)


# -- bugs caught in debug mode ------------------------------------------------------------------


def _free_objects(s: KmemCache) -> set[int]:
    return {sl.obj(i) for sl in s.slabs for i in sl.free}


def test_use_after_free_is_caught_when_the_object_is_allocated_again(debug_kernel):
    k = debug_kernel
    p = kmalloc(100, GFP_KERNEL)
    name = virt_to_cache(p).name
    kfree(p)
    assert k.mem_read(p, 4) == b"kkkk"  # POISON_FREE
    k.mem_write(p + 8, b"\x00\x00")  # a stale pointer still in use
    q = kmalloc(100, GFP_KERNEL)
    assert q != p  # SLUB gave up on the corrupted slab
    log = report(k)
    assert "=" * 77 in log
    assert f"BUG {name} (Not tainted): Poison overwritten" in log
    assert f"INFO: {p + 8:#010x}-{p + 9:#010x} @offset=" in log
    assert "First byte 0x0 instead of 0x6b" in log
    assert "INFO: Allocated in test_use_after_free_is_caught" in log
    assert "INFO: Freed in test_use_after_free_is_caught" in log
    assert f"INFO: Object {p:#010x} @offset=" in log
    assert re.search(rf"Object   {p:08x}: 6b 6b 6b 6b 6b 6b 6b 6b 00 00 6b 6b", log)
    assert f"FIX {name}: Restoring Poison {p + 8:#010x}-{p + 9:#010x}=0x6b" in log
    assert f"FIX {name}: Marking all objects used" in log
    kfree(q)


def test_use_after_free_is_caught_by_validate_without_reallocating(debug_kernel):
    k = debug_kernel
    s = kmem_cache_create("soclab_uaf", 64)
    p = kmem_cache_alloc(s, GFP_KERNEL)
    kmem_cache_free(s, p)
    k.mem_write(p + 63, b"!")
    assert kmem_cache_validate(s) == 1
    log = report(k)
    assert "BUG soclab_uaf (Not tainted): End Poison overwritten" in log
    assert "First byte 0x21 instead of 0xa5" in log
    assert kmem_cache_validate(s) == 0  # restored
    kmem_cache_destroy(s)


def test_a_device_writing_into_a_freed_object_is_caught_too(debug_kernel):
    k = debug_kernel
    p = kmalloc(512, GFP_KERNEL)
    kfree(p)
    k.cache.clean(__pa(p), 512)  # the poison reaches DRAM (as a dma_map would do)
    k.machine.bus.write(__pa(p) + 16, b"\x12\x34")  # late DMA into the freed buffer
    k.cache.invalidate(__pa(p), 512)  # ... seen once the CPU rereads it
    assert kmem_cache_validate(virt_to_cache(p)) == 1
    assert "Poison overwritten" in report(k)


def test_double_free_is_reported_at_the_second_free_with_both_owners(debug_kernel):
    k = debug_kernel
    p = kmalloc(32, GFP_KERNEL)
    name = virt_to_cache(p).name
    kfree(p)
    kfree(p)
    log = report(k)
    assert f"BUG {name} (Not tainted): Object already free" in log
    assert "INFO: Allocated in test_double_free_is_reported" in log
    assert "INFO: Freed in test_double_free_is_reported" in log
    assert f"FIX {name}: Object at {p:#010x} not freed" in log
    assert kmalloc(32, GFP_KERNEL) == p and kmalloc(32, GFP_KERNEL) != p  # freed only once


def test_double_free_is_caught_even_without_debugging(kernel):
    p = kmalloc(32, GFP_KERNEL)
    kfree(p)
    kfree(p)
    assert "Object already free" in report(kernel)


@pytest.mark.parametrize("where", ["before", "after"])
def test_red_zone_overwrites_before_and_after_an_object_are_caught_at_free(kernel, where):
    s = kmem_cache_create("soclab_rz", 40, 0, FZPU)
    p = kmem_cache_alloc(s, GFP_KERNEL)
    addr = p - 1 if where == "before" else p + 40
    kernel.mem_write(addr, b"\x00")
    kmem_cache_free(s, p)
    log = report(kernel)
    what = "Left Redzone" if where == "before" else "Right Redzone"
    assert f"BUG soclab_rz (Not tainted): {what} overwritten" in log
    assert f"INFO: {addr:#010x}-{addr:#010x} @offset=" in log
    assert "First byte 0x0 instead of 0xcc" in log
    if where == "before":  # the 8-byte left red zone, then the 4-byte right one
        assert re.search(rf"\nRedzone  {p - 8:08x}: cc cc cc cc cc cc cc 00 {{26}}\.{{8}}\n", log)
    else:
        assert re.search(rf"\nRedzone  {p + 40:08x}: 00 cc cc cc {{38}}\.{{4}}\n", log)
    assert f"FIX soclab_rz: Restoring {what} {addr:#010x}-{addr:#010x}=0xcc" in log
    assert f"FIX soclab_rz: Object at {p:#010x} not freed" in log


def test_a_red_zone_overwrite_is_caught_by_validate_while_allocated(kernel):
    s = kmem_cache_create("soclab_rz2", 40, 0, SLAB_RED_ZONE)  # no F: only validate checks
    p = kmem_cache_alloc(s, GFP_KERNEL)
    kernel.mem_write(p + 40, b"\x99")
    kmem_cache_free(s, p)  # without SLAB_CONSISTENCY_CHECKS the free does not look
    assert "BUG" not in kernel.log_text()
    q = kmem_cache_alloc(s, GFP_KERNEL)
    kernel.mem_write(q + 41, b"\x99")
    assert kmem_cache_validate(s) == 1
    assert "Right Redzone overwritten" in report(kernel)
    kmem_cache_free(s, q)
    kmem_cache_destroy(s)


def test_writing_past_the_requested_kmalloc_size_is_a_kmalloc_redzone_bug(debug_kernel):
    k = debug_kernel
    p = kmalloc(20, GFP_KERNEL)
    s = virt_to_cache(p)
    assert k.mem_read(p + 20, s.object_size - 20) == b"\xcc" * (s.object_size - 20)
    k.mem_write(p + 20, b"\x00")  # the classic off-by-one: a string's terminating NUL
    kfree(p)
    log = report(k)
    assert f"BUG {s.name} (Not tainted): kmalloc Redzone overwritten" in log
    assert f"INFO: {p + 20:#010x}-{p + 20:#010x} @offset=" in log
    assert "Object   " in log and "Padding  " in log


def test_after_ksize_the_whole_object_may_be_used(debug_kernel):
    k = debug_kernel
    p = kmalloc(20, GFP_KERNEL)
    n = ksize(p)
    k.mem_write(p, b"\x01" * n)
    kfree(p)
    assert "BUG" not in report(k)


def test_kfree_of_a_pointer_kmalloc_never_returned_is_reported_not_fatal(kernel):
    page = alloc_pages(GFP_KERNEL, 0)
    va = page_address(page)
    kfree(va)
    v = vmalloc(4096)
    kfree(v)
    kfree(0x1234_5678)
    log = report(kernel)
    assert f"BUG: kfree: invalid pointer {va:#010x}" in log
    assert "neither a slab object nor a kmalloc_large buffer" in log
    assert f"BUG: kfree: invalid pointer {v:#010x}" in log and "freed with vfree()" in log
    assert "BUG: kfree: invalid pointer 0x12345678" in log
    assert "caller: test_kfree_of_a_pointer_kmalloc_never_returned" in log
    __free_pages(page, 0)
    vfree(v)


def test_kfree_of_a_pointer_into_the_middle_of_an_object_is_an_invalid_object_pointer(kernel):
    p = kmalloc(64, GFP_KERNEL)
    name = virt_to_cache(p).name
    kfree(p + 8)
    log = report(kernel)
    assert f"BUG {name} (Not tainted): Invalid object pointer {p + 8:#010x}" in log
    assert f"FIX {name}: Object at {p + 8:#010x} not freed" in log
    kfree(p)
    assert report(kernel) == ""


def test_kmem_cache_free_to_the_wrong_cache_or_outside_any_slab_warns(kernel):
    a = kmem_cache_create("soclab_a", 32)
    b = kmem_cache_create("soclab_b", 32)
    p = kmem_cache_alloc(a, GFP_KERNEL)
    kmem_cache_free(b, p)
    assert "Wrong slab cache. soclab_b but object is from soclab_a" in report(kernel)
    assert p in _free_objects(a)  # freed to its real cache, as Linux does
    page = alloc_pages(GFP_KERNEL, 0)
    kmem_cache_free(a, page_address(page))
    assert "virt_to_cache: Object is not a Slab page!" in report(kernel)
    __free_pages(page, 0)


def test_the_second_report_says_tainted(debug_kernel):
    k = debug_kernel
    p = kmalloc(32, GFP_KERNEL)
    kfree(p)
    kfree(p)
    kfree(p)
    log = report(k)
    assert "(Not tainted): Object already free" in log
    assert "(Tainted: G    B            ): Object already free" in log


def test_a_strict_kernel_raises_after_a_complete_report():
    k = boot("x86", slub_debug=True, strict=True)
    p = kmalloc(32, GFP_KERNEL)
    kfree(p)
    with pytest.raises(KernelBug, match="Object already free"):
        kfree(p)
    assert "FIX kmalloc-32: Object at" in k.log_text()
    assert kmalloc(32, GFP_KERNEL) == p  # the allocator is consistent


def test_slub_debug_option_letters_and_cache_prefix():
    k = boot("armv7", slub_debug="P,kmalloc-1")
    flags = {s.name: s.flags for s in slab_state(k).slab_caches}
    assert flags["kmalloc-128"] & SLAB_POISON and not flags["kmalloc-128"] & SLAB_RED_ZONE
    assert not flags["kmalloc-64"] & SLAB_POISON


# -- invariants under random use ----------------------------------------------------------------


@pytest.mark.parametrize("arch, debug", [("armv7", False), ("x86", False), ("x86", True)])
def test_random_kmalloc_kfree_never_overlaps_and_gives_every_page_back(arch, debug):
    k = boot(arch, slub_debug=debug)
    free0 = nr_free_pages()

    sizes = st.one_of(st.integers(0, 256), st.integers(0, 8192), st.integers(8193, 40000))

    @settings(max_examples=40 if debug else 80, deadline=None)
    @given(ops=st.lists(st.tuples(st.booleans(), sizes), min_size=10, max_size=200))
    def run(ops: list[tuple[bool, int]]) -> None:
        live: dict[int, int] = {}
        for alloc, n in ops:
            if alloc or not live:
                p = kmalloc(n, GFP_KERNEL)
                assert p is not None
                if p == ZERO_SIZE_PTR:
                    continue
                size = n if n > 8192 else virt_to_cache(p).object_size
                for q, m in live.items():
                    assert p + size <= q or q + m <= p, f"{p:#x}+{size} overlaps {q:#x}+{m}"
                k.mem_write(p, n.to_bytes(4, "little")[: min(4, n)])
                live[p] = size
            else:
                p = sorted(live)[n % len(live)]
                del live[p]
                kfree(p)
        free_all_and_shrink(list(live))
        assert nr_free_pages() == free0  # every slab page went back
        assert all(not s.slabs for s in slab_state(k).slab_caches)

    run()
    assert "BUG" not in k.log_text()
