"""i386 memory layout and kernel page tables: arch/x86/mm/init_32.c, asm/pgtable_32_types.h.

Layout (3G/1G split, non-PAE, older kernels' fixmap-relative pkmap):

    0xC0000000  PAGE_OFFSET: lowmem linear map with 4 MiB pages (PSE), up to high_memory
                (at most 896 MiB: the top 128 MiB of kernel space is VMALLOC_RESERVE)
    VMALLOC_START = high_memory + 8 MiB .. VMALLOC_END = PKMAP_BASE - 2 pages
    PKMAP_BASE  1024 pages (4 MiB), 4 MiB aligned
    FIXADDR_START .. FIXADDR_TOP = 0xFFFFF000: fixmap (kmap_atomic slots), growing down

ZONE_DMA is the first 16 MiB (ISA DMA), ZONE_NORMAL the rest of lowmem, ZONE_HIGHMEM above.
x86 is cache-coherent for DMA, so there is no consistent-DMA remap area (CONSISTENT_BASE =
CONSISTENT_END = 0). Memory types come from PAT/PCD/PWT with the PAT MSR Linux programs
(WB, WC, UC-, UC, WB, WP, UC-, WT): WC is PWT, UC- is PCD, UC is PCD|PWT, WT is PAT|PCD|PWT.
The first MiB is reserved (BIOS, as Linux does) and the "kernel image" is the 2 MiB at
16 MiB (CONFIG_PHYSICAL_START): swapper_pg_dir and the kernel's page tables live there.

Not modelled: PAE kernels, per-process tables (the user-space issue), the LDT and CPU entry
area remaps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from emulator.kernel.arch.pgtable import KernelPageTablesBase
from emulator.kernel.core import PAGE_SIZE, Layout, ZoneSpec
from emulator.mmu import MemType

if TYPE_CHECKING:
    from emulator.cpu.x86 import X86Cpu
    from emulator.kernel.core import Kernel
    from emulator.machine import Machine

MiB = 1 << 20
PAGE_OFFSET = 0xC000_0000
VMALLOC_OFFSET = 8 * MiB
VMALLOC_RESERVE = 128 * MiB
MAXMEM = 0x1_0000_0000 - PAGE_OFFSET - VMALLOC_RESERVE  # 896 MiB
FIXADDR_TOP = 0xFFFF_F000
FIX_SLOTS = 256  # fixmap pages (kmap_atomic slots and friends)
LAST_PKMAP = 1024
MAX_DMA_ADDRESS = 16 * MiB
KERNEL_START = 16 * MiB  # CONFIG_PHYSICAL_START
KERNEL_IMAGE_SIZE = 2 * MiB

PAT_MSR_LINUX = 0x0407_0506_0007_0106  # WB WC UC- UC WB WP UC- WT
_P, _RW, _US, _PWT, _PCD, _A, _D, _PS, _G = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0x100
_PTE_PAT = 0x80
CR0_PG, CR0_WP, CR4_PSE, CR4_PGE = 1 << 31, 1 << 16, 1 << 4, 1 << 7

#: PCD/PWT/PAT bits of a 4 KiB PTE for each memory type under Linux's PAT MSR
PTE_CACHE = {
    MemType.WRITE_BACK: 0,
    MemType.NORMAL_NC: _PWT,  # WC
    MemType.STRONGLY_ORDERED: _PCD | _PWT,  # UC
    MemType.DEVICE: _PCD | _PWT,  # UC
    MemType.WRITE_THROUGH: _PTE_PAT | _PCD | _PWT,  # WT
}


def make_layout(machine: Machine) -> Layout:
    board = machine.board
    lowmem = min(board.ram_size, MAXMEM)
    high_memory = PAGE_OFFSET + lowmem
    fixaddr_start = FIXADDR_TOP - FIX_SLOTS * PAGE_SIZE
    pkmap_base = (fixaddr_start - PAGE_SIZE * (LAST_PKMAP + 1)) & ~(4 * MiB - 1)
    end_pfn = (board.ram_base + board.ram_size) >> 12
    low_pfn = (board.ram_base + lowmem) >> 12
    dma_pfn = min(MAX_DMA_ADDRESS >> 12, low_pfn)
    zones = [ZoneSpec("DMA", board.ram_base >> 12, dma_pfn), ZoneSpec("Normal", dma_pfn, low_pfn)]
    if low_pfn < end_pfn:
        zones.append(ZoneSpec("HighMem", low_pfn, end_pfn))
    return Layout(
        PAGE_OFFSET=PAGE_OFFSET,
        PHYS_OFFSET=board.ram_base,
        lowmem_end=board.ram_base + lowmem,
        high_memory=high_memory,
        VMALLOC_START=high_memory + VMALLOC_OFFSET,
        VMALLOC_END=pkmap_base - 2 * PAGE_SIZE,
        PKMAP_BASE=pkmap_base,
        LAST_PKMAP=LAST_PKMAP,
        FIXADDR_START=fixaddr_start,
        FIXADDR_TOP=FIXADDR_TOP,
        CONSISTENT_BASE=0,
        CONSISTENT_END=0,
        MODULES_VADDR=high_memory + VMALLOC_OFFSET,
        TASK_SIZE=PAGE_OFFSET,
        zones=zones,
        reserved=[
            (board.ram_base, MiB, "reserved"),
            (KERNEL_START, KERNEL_IMAGE_SIZE, "Kernel code"),
        ],
    )


class KernelPageTables(KernelPageTablesBase):
    """swapper_pg_dir (a non-PAE page directory) and the kernel's page tables, in guest RAM."""

    def __init__(self, kernel: Kernel) -> None:
        pgd = KERNEL_START + 0x10_0000
        super().__init__(kernel, pgd, pgd + PAGE_SIZE, KERNEL_START + KERNEL_IMAGE_SIZE)

    def paging_init(self) -> None:
        """Build swapper_pg_dir with the lowmem linear map (PSE), then turn paging on."""
        k = self.kernel
        k.phys_write(self.pgd, bytes(PAGE_SIZE))
        lay = self.layout
        for off in range(0, lay.lowmem_end - lay.PHYS_OFFSET, 4 * MiB):
            pde = (lay.PHYS_OFFSET + off) | _P | _RW | _PS | _G | _A | _D
            self._write(self._pde_addr(PAGE_OFFSET + off), pde)
        cpu = cast("X86Cpu", k.cpu)
        cpu.set_control("PAT", PAT_MSR_LINUX)
        cpu.set_control("CR3", self.pgd)
        cpu.set_control("CR4", cpu.reg_control("CR4") | CR4_PSE | CR4_PGE)
        cpu.set_control("CR0", cpu.reg_control("CR0") | CR0_PG | CR0_WP)

    def _pde_addr(self, va: int) -> int:
        return self.pgd + (va >> 22) * 4

    def _pte_addr(self, va: int, create: bool, pgd: int | None = None) -> int | None:
        pgd = self.pgd if pgd is None else pgd
        pde_addr = pgd + (va >> 22) * 4
        pde = self._read(pde_addr)
        if pde & _P and pde & _PS:
            raise ValueError(f"{va:#010x} lies in a 4 MiB page (the lowmem linear map)")
        if not pde & _P:
            if not create:
                return None
            user = pgd != self.pgd
            table = self._alloc_table(PAGE_SIZE) if user else self.early_alloc(PAGE_SIZE)
            # _US at the directory level everywhere: access is then decided by each PTE
            # (kernel PTEs never carry it), which lets one fixmap page, the GDT, be readable
            # from user mode for descriptor loads.
            pde = table | _P | _RW | _A | _US
            self._write(pde_addr, pde)
            self._top_entry_written(pde_addr - pgd, pde, pgd)
        return (pde & 0xFFFF_F000) + ((va >> 12) & 0x3FF) * 4

    @staticmethod
    def _present(desc: int) -> bool:
        return bool(desc & _P)

    @staticmethod
    def _pte(pa: int, memtype: MemType, writable: bool, executable: bool, user: bool) -> int:
        """set_pte(): non-PAE x86 has no NX, so every kernel page is executable."""
        pte = (pa & 0xFFFF_F000) | _P | _A | _D | PTE_CACHE[memtype]
        return pte | (_RW if writable else 0) | (_US if user else _G)

    # -- process address spaces -----------------------------------------------------------

    def new_pgd(self) -> int:
        """pgd_alloc(): a page directory whose kernel half (PDEs 768..1023) is swapper's."""
        pgd = self._alloc_table(PAGE_SIZE)
        first = self.layout.TASK_SIZE >> 22
        kernel_half = self.kernel.phys_read(self.pgd + first * 4, (1024 - first) * 4)
        self.kernel.phys_write(pgd + first * 4, kernel_half)
        self.mirrors.append(pgd)
        return pgd

    def switch_mm(self, pgd: int) -> None:
        cpu = cast("X86Cpu", self.kernel.cpu)
        cpu.set_control("CR3", pgd)
