"""ARM memory layout and kernel page tables: arch/arm/mm/mmu.c, asm/memory.h, asm/pgtable.h.

The layout is Linux 3.4's for a 3G/1G split (Documentation/arm/memory.txt of that era), the
last one with a dedicated consistent-DMA remap area:

    0xBF000000  MODULES_VADDR (= TASK_SIZE)
    0xBFE00000  PKMAP_BASE, 512 pages
    0xC0000000  PAGE_OFFSET: lowmem linear map, 1 MiB sections, up to high_memory
                (lowmem is at most 760 MiB: VMALLOC_END - 240 MiB - VMALLOC_OFFSET)
    VMALLOC_START = ALIGN(high_memory + 8 MiB, 8 MiB) .. VMALLOC_END 0xFF000000
    0xFFC00000  CONSISTENT_BASE .. 0xFFE00000: dma_alloc_coherent remaps
    0xFFF00000  FIXADDR_START .. 0xFFFE0000: fixmap (kmap_atomic slots)
    0xFFFF0000  vectors (high vectors, SCTLR.V = 1)

Page tables are the real ARMv7 short-descriptor format with TEX remap on (SCTLR.TRE = 1 and
Linux's PRRR = 0xff0a81a8, NMRR = 0x40e040e0), so the memory type of a page is the 3-bit index
TEX[0]:C:B of Linux's L_PTE_MT_* values. swapper_pg_dir sits at PHYS_OFFSET + 0x4000 as on
Linux; the first MiB of RAM is the reserved "kernel image", and the second-level tables the
kernel needs are taken from it (early_alloc). Table walks are write-back cacheable (TTBR0's
IRGN/RGN as Linux's UP setting), so tables are written through the cache like any kernel data.

Not modelled: LPAE, per-process user tables (the user-space issue), SMP sharing, domains other
than kernel (0), user (1) and io (2) — all three are client domains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from emulator.kernel.arch.pgtable import KernelPageTablesBase
from emulator.kernel.core import PAGE_SIZE, Layout, ZoneSpec
from emulator.mmu import MemType

if TYPE_CHECKING:
    from emulator.cpu.arm import ArmCpu
    from emulator.kernel.core import Kernel
    from emulator.machine import Machine

MiB = 1 << 20
PAGE_OFFSET = 0xC000_0000
VMALLOC_OFFSET = 8 * MiB
VMALLOC_END = 0xFF00_0000
VMALLOC_RESERVE = 240 * MiB
PKMAP_BASE = PAGE_OFFSET - 2 * MiB
LAST_PKMAP = 512
CONSISTENT_BASE, CONSISTENT_END = 0xFFC0_0000, 0xFFE0_0000
FIXADDR_START, FIXADDR_END = 0xFFF0_0000, 0xFFFE_0000
VECTORS_BASE = 0xFFFF_0000
MODULES_VADDR = PAGE_OFFSET - 16 * MiB
SWAPPER_PG_DIR_OFFSET = 0x4000
KERNEL_IMAGE_SIZE = 1 * MiB  # reserved at PHYS_OFFSET: swapper_pg_dir and early tables

PRRR, NMRR = 0xFF0A_81A8, 0x40E0_40E0
SCTLR_M, SCTLR_C, SCTLR_I, SCTLR_V, SCTLR_TRE = 1, 1 << 2, 1 << 12, 1 << 13, 1 << 28
TTB_IRGN_WB = (1 << 0) | (1 << 6)
TTB_RGN_OC_WB = 3 << 3
DOMAIN_KERNEL, DOMAIN_USER, DOMAIN_IO = 0, 1, 2
DACR_CLIENTS = 0b01 << (2 * DOMAIN_KERNEL) | 0b01 << (2 * DOMAIN_USER) | 0b01 << (2 * DOMAIN_IO)

#: TEX[0]:C:B index of each memory type under Linux's PRRR/NMRR (proc-v7-2level.S)
MT_INDEX = {
    MemType.STRONGLY_ORDERED: 0b000,  # L_PTE_MT_UNCACHED
    MemType.NORMAL_NC: 0b001,  # L_PTE_MT_BUFFERABLE (and DEV_WC)
    MemType.WRITE_THROUGH: 0b010,  # L_PTE_MT_WRITETHROUGH
    MemType.DEVICE: 0b100,  # L_PTE_MT_DEV_SHARED
    MemType.WRITE_BACK: 0b111,  # L_PTE_MT_WRITEALLOC
}

PMD_TYPE_TABLE, PMD_TYPE_SECT = 0b01, 0b10
PMD_SECT_XN, PMD_SECT_AP_WRITE = 1 << 4, 1 << 10
PTE_EXT_XN, PTE_TYPE_SMALL = 1 << 0, 1 << 1
PTE_EXT_AP0, PTE_EXT_AP1, PTE_EXT_APX, PTE_EXT_NG = 1 << 4, 1 << 5, 1 << 9, 1 << 11


def make_layout(machine: Machine) -> Layout:
    board = machine.board
    phys = board.ram_base
    lowmem_max = VMALLOC_END - VMALLOC_RESERVE - VMALLOC_OFFSET - PAGE_OFFSET  # 760 MiB
    lowmem = min(board.ram_size, lowmem_max)
    high_memory = PAGE_OFFSET + lowmem
    start_pfn, lowmem_pfn = phys >> 12, (phys + lowmem) >> 12
    end_pfn = (phys + board.ram_size) >> 12
    zones = []
    dma_bits = min(
        (d.dma_bits for d in board.devices if "soclab,fifo-dma" in d.compatible), default=32
    )
    if dma_bits < 32 and phys < (1 << dma_bits):
        dma_end = min(end_pfn, (1 << dma_bits) >> 12, lowmem_pfn)
        zones.append(ZoneSpec("DMA", start_pfn, dma_end))
        start_pfn = dma_end
    if start_pfn < lowmem_pfn:
        zones.append(ZoneSpec("Normal", start_pfn, lowmem_pfn))
    if lowmem_pfn < end_pfn:
        zones.append(ZoneSpec("HighMem", lowmem_pfn, end_pfn))
    return Layout(
        PAGE_OFFSET=PAGE_OFFSET,
        PHYS_OFFSET=phys,
        lowmem_end=phys + lowmem,
        high_memory=high_memory,
        VMALLOC_START=(high_memory + VMALLOC_OFFSET) & ~(VMALLOC_OFFSET - 1),
        VMALLOC_END=VMALLOC_END,
        PKMAP_BASE=PKMAP_BASE,
        LAST_PKMAP=LAST_PKMAP,
        FIXADDR_START=FIXADDR_START,
        FIXADDR_TOP=FIXADDR_END - PAGE_SIZE,
        CONSISTENT_BASE=CONSISTENT_BASE,
        CONSISTENT_END=CONSISTENT_END,
        MODULES_VADDR=MODULES_VADDR,
        TASK_SIZE=MODULES_VADDR,
        zones=zones,
        reserved=[(phys, KERNEL_IMAGE_SIZE, "Kernel code")],
    )


class KernelPageTables(KernelPageTablesBase):
    """swapper_pg_dir and the kernel's second-level tables, in guest RAM."""

    def __init__(self, kernel: Kernel) -> None:
        phys = kernel.layout.PHYS_OFFSET
        super().__init__(
            kernel, phys + SWAPPER_PG_DIR_OFFSET, phys + 0x8000, phys + KERNEL_IMAGE_SIZE
        )
        self.vectors_page = 0

    # -- boot ---------------------------------------------------------------------------

    def paging_init(self) -> None:
        """Build swapper_pg_dir: the lowmem linear map and the vector page; MMU on."""
        k = self.kernel
        k.phys_write(self.pgd, bytes(16 * 1024))
        lay = self.layout
        for off in range(0, lay.lowmem_end - lay.PHYS_OFFSET, MiB):
            pa = lay.PHYS_OFFSET + off
            self._set_l1(PAGE_OFFSET + off, self._section(pa, MemType.WRITE_BACK))
        self.vectors_page = self.early_alloc(PAGE_SIZE)
        self.map_kernel_page(
            VECTORS_BASE,
            self.vectors_page,
            MemType.WRITE_BACK,
            writable=False,
            executable=True,
            user=True,
        )
        from emulator.kernel.arch.arm.kuser import kuser_init

        kuser_init(k, self.vectors_page)
        cpu = cast("ArmCpu", k.cpu)
        cpu.set_cp15("TTBCR", 0)
        cpu.set_cp15("TTBR0", self.pgd | TTB_IRGN_WB | TTB_RGN_OC_WB)
        cpu.set_cp15("DACR", DACR_CLIENTS)
        cpu.set_cp15("PRRR", PRRR)
        cpu.set_cp15("NMRR", NMRR)
        sctlr = cpu.cp15("SCTLR")
        cpu.set_cp15("SCTLR", sctlr | SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_V | SCTLR_TRE)

    # -- descriptors --------------------------------------------------------------------

    @staticmethod
    def _section(pa: int, memtype: MemType) -> int:
        n = MT_INDEX[memtype]
        return (
            (pa & 0xFFF0_0000)
            | PMD_TYPE_SECT
            | PMD_SECT_XN
            | PMD_SECT_AP_WRITE
            | (n & 0b011) << 2
            | (n >> 2) << 12
            | DOMAIN_KERNEL << 5
        )

    @staticmethod
    def _present(desc: int) -> bool:
        return bool(desc & PTE_TYPE_SMALL)

    @staticmethod
    def _pte(pa: int, memtype: MemType, writable: bool, executable: bool, user: bool) -> int:
        """set_pte_ext(): a small-page descriptor."""
        n = MT_INDEX[memtype]
        desc = (pa & 0xFFFF_F000) | PTE_TYPE_SMALL | (n & 0b011) << 2 | (n >> 2) << 6
        if not executable:
            desc |= PTE_EXT_XN
        if user:
            desc |= PTE_EXT_AP1 | (PTE_EXT_AP0 if writable else PTE_EXT_APX)
        else:
            desc |= PTE_EXT_AP0 | (0 if writable else PTE_EXT_APX)
        return desc

    def _l1_addr(self, va: int) -> int:
        return self.pgd + (va >> 20) * 4

    def _set_l1(self, va: int, desc: int) -> None:
        self._write(self._l1_addr(va), desc)

    def _pte_addr(self, va: int, create: bool, pgd: int | None = None) -> int | None:
        pgd = self.pgd if pgd is None else pgd
        l1_addr = pgd + (va >> 20) * 4
        l1 = self._read(l1_addr)
        kind = l1 & 0b11
        if kind == PMD_TYPE_SECT:
            raise ValueError(f"{va:#010x} lies in a section mapping (the lowmem linear map)")
        if kind == 0:
            if not create:
                return None
            if pgd == self.pgd:
                table = self.early_alloc(1024)
                domain = DOMAIN_IO if va >= self.layout.VMALLOC_START else DOMAIN_KERNEL
            else:
                table = self._alloc_table(1024)
                domain = DOMAIN_USER
            l1 = table | PMD_TYPE_TABLE | domain << 5
            self._write(l1_addr, l1)
            self._top_entry_written(l1_addr - pgd, l1, pgd)
        return (l1 & 0xFFFF_FC00) + ((va >> 12) & 0xFF) * 4

    # -- the API the rest of the kernel uses -------------------------------------------------

    # -- process address spaces -----------------------------------------------------------

    def new_pgd(self) -> int:
        """pgd_alloc(): a 16 KiB first-level table whose kernel half is swapper's."""
        pgd = self._alloc_table(16 * 1024)
        first = self.layout.TASK_SIZE >> 20
        kernel_half = self.kernel.phys_read(self.pgd + first * 4, (4096 - first) * 4)
        self.kernel.phys_write(pgd + first * 4, kernel_half)
        self.mirrors.append(pgd)
        return pgd

    def switch_mm(self, pgd: int) -> None:
        """cpu_switch_mm(): TTBR0 to the process's tables (the TLB is flushed)."""
        cpu = cast("ArmCpu", self.kernel.cpu)
        cpu.set_cp15("TTBR0", pgd | TTB_IRGN_WB | TTB_RGN_OC_WB)

    def _user_pte(self, pa: int, writable: bool, executable: bool, memtype: MemType) -> int:
        return self._pte(pa, memtype, writable, executable, True) | PTE_EXT_NG
