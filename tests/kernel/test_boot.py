"""Kernel boot: the memory layout Linux would have, the kernel page tables in guest RAM in
the architecture's real format, and the linear-map helpers."""

from __future__ import annotations

import pytest

from emulator.board import load_board
from emulator.kernel.core import Kernel, __pa, __va, phys_to_virt, virt_to_phys
from emulator.machine import Machine
from emulator.mmu import AccessType, MemType


def boot(arch: str, ram: int | None = None) -> Kernel:
    return Kernel(Machine(load_board(arch, ram), log=lambda m: None), echo=False).boot()


@pytest.mark.parametrize(
    "arch, high_memory, vmalloc_start, zones",
    [
        (
            "armv7",
            0xEF80_0000,
            0xF000_0000,
            [("Normal", 0x60000, 0x8F800), ("HighMem", 0x8F800, 0xA0000)],
        ),
        (
            "x86",
            0xF800_0000,
            0xF880_0000,
            [("DMA", 0, 0x1000), ("Normal", 0x1000, 0x38000), ("HighMem", 0x38000, 0x40000)],
        ),
    ],
)
def test_a_1gib_board_gets_linuxs_lowmem_limit_vmalloc_start_and_zones(
    arch, high_memory, vmalloc_start, zones
):
    k = boot(arch)
    lay = k.layout
    assert lay.PAGE_OFFSET == 0xC000_0000
    assert lay.high_memory == high_memory  # ARM: 760 MiB of lowmem, x86: 896 MiB
    assert lay.VMALLOC_START == vmalloc_start  # high_memory + the 8 MiB VMALLOC_OFFSET gap
    assert [(z.name, z.start_pfn, z.end_pfn) for z in lay.zones] == zones
    assert lay.PKMAP_BASE < lay.PAGE_OFFSET or lay.PKMAP_BASE > lay.VMALLOC_END
    assert lay.FIXADDR_START < lay.FIXADDR_TOP


def test_a_small_arm_board_has_no_highmem_and_a_dma_zone_only_below_dma_bits():
    k = boot("armv7", 256 << 20)
    assert [z.name for z in k.layout.zones] == ["Normal"]
    assert k.layout.high_memory == 0xC000_0000 + (256 << 20)


@pytest.mark.parametrize("arch", ["armv7", "x86"])
def test_the_linear_map_translates_through_the_guests_own_tables(arch):
    k = boot(arch)
    lay = k.layout
    for off in (0, 0x1234, (300 << 20) + 8, lay.high_memory - lay.PAGE_OFFSET - 4):
        va = lay.PAGE_OFFSET + off
        tr = k.cpu.translate(va, AccessType.WRITE)
        assert tr.paddr == lay.PHYS_OFFSET + off == __pa(va) == virt_to_phys(va)
        assert __va(tr.paddr) == phys_to_virt(tr.paddr) == va
        assert tr.memtype is MemType.WRITE_BACK
    with pytest.raises(Exception):  # noqa: B017 - no user access to kernel memory
        k.cpu.translate(lay.PAGE_OFFSET, AccessType.READ, user=True)


@pytest.mark.parametrize("arch", ["armv7", "x86"])
def test_the_page_table_dump_matches_what_the_walker_translates(arch):
    k = boot(arch)
    mappings = list(k.cpu.mappings())
    assert mappings
    for m in mappings:
        for va in (m.vaddr, m.vaddr + m.page_size - 4):
            tr = k.cpu.translate(va)
            assert tr.paddr - va == m.paddr - m.vaddr
            assert tr.memtype is m.memtype
    dump = k.cpu.dump_page_tables()
    linear = (
        "0xc0000000-0xef800000         760M"
        if arch == "armv7"
        else "0xc0000000-0xf8000000         896M"
    )
    assert linear in dump


def test_arm_has_the_vector_page_at_ffff0000_readable_by_user_space():
    k = boot("armv7")
    tr = k.cpu.translate(0xFFFF_0000, AccessType.FETCH, user=True)
    assert tr.paddr == k.pgtable.vectors_page
    assert k.cpu.cp15("SCTLR") & (1 << 13)  # high vectors


def test_swapper_pg_dir_lives_in_the_reserved_kernel_image():
    for arch in ("armv7", "x86"):
        k = boot(arch)
        start, size, name = k.layout.reserved[-1]
        assert name == "Kernel code"
        assert start <= k.pgtable.pgd < start + size


def test_kernel_stores_land_in_the_cache_view_until_cleaned():
    k = boot("armv7")
    va = k.layout.PAGE_OFFSET + (64 << 20)
    k.mem_write(va, b"dma buffer")
    pa = __pa(va)
    assert k.machine.bus.read(pa, 10) != b"dma buffer"
    assert pa in k.cache.dirty_lines()
    k.cache.clean(pa, 10)
    assert k.machine.bus.read(pa, 10) == b"dma buffer"
