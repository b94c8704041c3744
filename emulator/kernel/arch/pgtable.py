"""What both architectures' kernel page tables share: the early_alloc pool in the reserved
kernel image, descriptor reads and writes through the kernel's cacheable mapping, and the
walker's view of a kernel address. The table formats themselves are per architecture."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.mmu import MemType

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel


class KernelPageTablesBase:
    def __init__(self, kernel: Kernel, pgd: int, pool_start: int, pool_end: int) -> None:
        self.kernel = kernel
        self.layout = kernel.layout
        self.pgd = pgd
        self._early_next = pool_start
        self._early_end = pool_end
        self.mirrors: list[int] = []  # process pgds sharing the kernel half of swapper's

    def early_alloc(self, size: int) -> int:
        """A zeroed, naturally aligned block of the reserved kernel image (early_alloc)."""
        pa = (self._early_next + size - 1) & ~(size - 1)
        if pa + size > self._early_end:
            raise MemoryError("early_alloc: the kernel's page-table pool is exhausted")
        self._early_next = pa + size
        self.kernel.phys_write(pa, bytes(size))
        return pa

    def _alloc_table(self, size: int) -> int:
        """A zeroed page-table page for a process (from the page allocator)."""
        from emulator.kernel.mm.page_alloc import alloc_pages, page_to_phys

        order = max(0, (size - 1).bit_length() - 12)
        page = alloc_pages(_table_gfp(), order)
        if page is None:
            raise MemoryError("out of memory for page tables")
        return int(page_to_phys(page))

    def _top_entry_written(self, entry_offset: int, value: int, pgd: int) -> None:
        """A new kernel-half top-level entry in swapper_pg_dir reaches every process's copy
        (what ARM's do_translation_fault and x86's vmalloc_sync_all achieve lazily)."""
        if pgd == self.pgd:
            for mirror in self.mirrors:
                self._write(mirror + entry_offset, value)

    def _read(self, pa: int) -> int:
        return int.from_bytes(self.kernel.phys_read(pa, 4), "little")

    def _write(self, pa: int, value: int) -> None:
        self.kernel.phys_write(pa, value.to_bytes(4, "little"))

    # -- per architecture ---------------------------------------------------------------

    def _pte_addr(self, va: int, create: bool, pgd: int | None = None) -> int | None:
        """Address of the last-level descriptor for `va` (a new table if `create`)."""
        raise NotImplementedError

    @staticmethod
    def _present(desc: int) -> bool:
        raise NotImplementedError

    @staticmethod
    def _pte(pa: int, memtype: MemType, writable: bool, executable: bool, user: bool) -> int:
        raise NotImplementedError

    # -- the API the rest of the kernel uses -------------------------------------------------

    def map_kernel_page(
        self,
        va: int,
        pa: int,
        memtype: MemType,
        writable: bool = True,
        executable: bool = False,
        user: bool = False,
    ) -> None:
        """Map one 4 KiB kernel page (vmalloc, ioremap, kmap, fixmap, ...)."""
        self._set_pte(self.pgd, va, self._pte(pa, memtype, writable, executable, user))

    def unmap_kernel_page(self, va: int) -> int | None:
        """pte_clear() + flush_tlb_kernel_page(): the physical page that was mapped, if any."""
        return self._clear_pte(self.pgd, va)

    def map_user_page(
        self,
        pgd: int,
        va: int,
        pa: int,
        writable: bool,
        executable: bool,
        memtype: MemType | None = None,
        flush: bool = True,
    ) -> None:
        """Map one user page in a process's tables (not global: ASID/PCID tagged);
        write-back memory unless `memtype` says otherwise (device mappings). `flush=False`:
        the caller is the TLB fill for this very page, which replaces any old entry."""
        mt = memtype if memtype is not None else MemType.WRITE_BACK
        self._set_pte(pgd, va, self._user_pte(pa, writable, executable, mt), flush)

    def unmap_user_page(self, pgd: int, va: int, flush: bool = True) -> int | None:
        """Clear a user PTE; `flush=False` when the caller flushes once for a whole range
        (the mmu_gather of zap_page_range)."""
        return self._clear_pte(pgd, va, flush)

    def _user_pte(self, pa: int, writable: bool, executable: bool, memtype: MemType) -> int:
        return self._pte(pa, memtype, writable, executable, True)

    def _set_pte(self, pgd: int, va: int, desc: int, flush: bool = True) -> None:
        """set_pte: write the last-level descriptor; replacing a live one flushes the TLB."""
        addr = self._pte_addr(va, create=True, pgd=pgd)
        assert addr is not None
        old = self._read(addr)
        self._write(addr, desc)
        if flush and self._present(old):
            self.kernel.cpu.flush_tlb()

    def _clear_pte(self, pgd: int, va: int, flush: bool = True) -> int | None:
        """pte_clear + TLB flush: the physical page that was mapped, if any."""
        addr = self._pte_addr(va, create=False, pgd=pgd)
        if addr is None:
            return None
        old = self._read(addr)
        if not self._present(old):
            return None
        self._write(addr, 0)
        if flush:
            self.kernel.cpu.flush_tlb()
        return old & 0xFFFF_F000

    def lookup(self, va: int) -> tuple[int, MemType] | None:
        """The physical address and memory type of a mapped kernel VA (the walker's view)."""
        from emulator.cpu.base import TranslationFault

        try:
            tr = self.kernel.cpu.translate(va)
        except TranslationFault:
            return None
        return tr.paddr, tr.memtype


def _table_gfp() -> int:
    # outside the class: Python would mangle __GFP_ZERO inside a method body
    from emulator.kernel.gfp import __GFP_ZERO, GFP_KERNEL

    return GFP_KERNEL | __GFP_ZERO
