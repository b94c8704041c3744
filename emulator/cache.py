"""The data-cache model: two views of physical memory, and hazard reports (ARCHITECTURE.md §2).

Design. Every memory region exists three times in Unicorn's physical space: the *memory view*
at its real address (what bus masters see), the *cache view* (`CACHE_VIEW_OFFSET` above it)
and the *write-combining view* (`WC_VIEW_OFFSET` above it). A TLB fill decides which view a
page's accesses reach from the memory type the walker found: cacheable pages reach the cache
view, normal non-cacheable pages the WC view, strongly-ordered and device pages memory. The
CPU then runs at full speed; which view it touches *is* the cache semantics.

When a page first becomes resident (its first cacheable fill) its memory bytes are copied into
the cache view and a *snapshot* of them is kept. Only the CPU writes the cache view, so a line
whose cache bytes differ from the snapshot is dirty — no per-access hook is needed. Clean copies
dirty lines to memory and refreshes the snapshot; invalidate copies memory into the cache view
and the snapshot, dropping dirty data; clean+invalidate does both. The WC view works the same
way: its dirty lines are buffered writes, drained to memory at barriers, register-block
accesses and slice ends. Write-through pages are cache-view pages whose dirty lines are
written through at those same points.

Policies (datasheet §3):
- `worst-case`: a line stays cached until the program cleans or invalidates it, and every
  line of a page mapped cacheable counts as cached (speculative fills are allowed), so after
  an invalidate the line is at once refilled from memory. A missing maintenance step always
  shows.
- `lru`: a set-associative cache of the given size and ways. The model sees no individual
  accesses, so recency comes from what it does see: the line an access that fills the TLB
  touches, lines found dirty at slice ends, and maintenance. Lines evicted from a full set are
  written back if dirty and refilled from memory; device writes to uncached lines reach the
  CPU.
- `off`: no cache; every access reaches memory.

Hazards are found where the model can see them: a non-coherent master reading a line dirty in
the cache (at the bus-master access); the CPU reading a line whose cached copy is older than
what a master wrote (the TLB entries of such pages are dropped when a master writes them, so
the CPU's next access refills and is checked); an invalidate dropping dirty data; a clean
writing back over data a master wrote; one physical page mapped with conflicting memory types.
The CPU's stores are attributed with the write-protect trick a real OS uses for dirty
tracking: a clean resident page is filled without write permission, so its first store refills
the TLB, and that refill records the PC, virtual address and time.
"""

from __future__ import annotations

import enum
import mmap
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from emulator.bus import CACHE_VIEW_OFFSET, MemoryRegion, PhysBus
from emulator.mmu import PROT_EXEC, PROT_READ, PROT_WRITE, AccessType, MemType

#: Offset of the write-combining alias of every memory region.
WC_VIEW_OFFSET = 0x2_0000_0000
PAGE = 4096
_ZERO_PAGE = bytes(PAGE)


class Policy(enum.Enum):
    WORST_CASE = "worst-case"
    LRU = "lru"
    OFF = "off"


@dataclass(frozen=True)
class CacheConfig:
    policy: Policy = Policy.WORST_CASE
    size: int = 32 * 1024  # lru: total bytes
    ways: int = 4  # lru: associativity

    @classmethod
    def parse(cls, text: str) -> CacheConfig:
        """'worst-case', 'off', 'lru', 'lru,size=32K,ways=4'."""
        from emulator.board import BoardError, parse_size

        name, *opts = text.split(",")
        try:
            policy = Policy(name.strip())
        except ValueError:
            raise BoardError(f"unknown cache policy {name!r}: use worst-case, lru or off") from None
        kw: dict[str, int] = {}
        for opt in opts:
            key, _, value = opt.partition("=")
            if key not in ("size", "ways") or not value:
                raise BoardError(f"bad cache option {opt!r}: use size=BYTES and ways=N")
            kw[key] = parse_size(value) if key == "size" else int(value, 0)
        if kw and policy is not Policy.LRU:
            raise BoardError("size= and ways= apply to the lru policy only")
        cfg = cls(policy, **kw)
        if cfg.ways < 1 or cfg.size < cfg.ways * 64 or cfg.size & (cfg.size - 1):
            raise BoardError("lru cache: size must be a power of two of at least ways × 64 bytes")
        return cfg


class HazardKind(enum.Enum):
    DEVICE_READ_DIRTY = "device read a line dirty in the CPU cache"
    CPU_READ_STALE = "CPU read a stale cached copy of a line a device wrote"
    INVALIDATE_DROPPED_DIRTY = "invalidate dropped dirty data"
    WRITEBACK_OVER_DEVICE_DATA = "a write-back overwrote data a device wrote"
    MEMTYPE_CONFLICT = "one physical page mapped with conflicting memory types"


MISSING = {
    HazardKind.DEVICE_READ_DIRTY: "clean before the device read it "
    "(dma_map_single/dma_sync_single_for_device, DMA_TO_DEVICE)",
    HazardKind.CPU_READ_STALE: "invalidate after the device wrote it "
    "(dma_unmap_single/dma_sync_single_for_cpu, DMA_FROM_DEVICE)",
    HazardKind.INVALIDATE_DROPPED_DIRTY: "clean before the invalidate (or do not write a buffer "
    "the device owns)",
    HazardKind.WRITEBACK_OVER_DEVICE_DATA: "invalidate before the device wrote it (map for "
    "DMA_FROM_DEVICE before the transfer, and keep the CPU off the buffer meanwhile)",
    HazardKind.MEMTYPE_CONFLICT: "map each physical page with one memory type at a time",
}


@dataclass
class Writer:
    who: str  # "CPU" or a device name
    time_ns: int
    pc: int | None = None
    vaddr: int | None = None


@dataclass
class Hazard:
    kind: HazardKind
    paddr: int  # line address
    vaddr: int | None
    time_ns: int
    pc: int | None
    by: str  # who did the access that showed the hazard
    last_writer: Writer | None
    detail: str = ""

    @property
    def missing(self) -> str:
        return MISSING[self.kind]

    def describe(self, symbolize: Callable[[int], str] = lambda pc: "") -> str:
        va = f" (VA {self.vaddr:#010x})" if self.vaddr is not None else ""
        at = f" at pc={self.pc:#010x}{symbolize(self.pc)}" if self.pc is not None else ""
        text = (
            f"{self.kind.value}: line PA {self.paddr:#010x}{va}, {self.by}{at}, "
            f"t={self.time_ns / 1000:.3f} us"
        )
        w = self.last_writer
        if w is not None:
            where = f" pc={w.pc:#010x}{symbolize(w.pc)}" if w.pc is not None else ""
            text += f"; last written by {w.who}{where} at t={w.time_ns / 1000:.3f} us"
        if self.detail:
            text += f"; {self.detail}"
        return f"{text}; missing: {self.missing}"


@dataclass
class CacheStats:
    fills: int = 0  # pages made resident
    cleans: int = 0  # dirty lines written back by maintenance
    invalidates: int = 0  # lines invalidated
    evictions: int = 0  # lru: lines evicted (dirty ones written back)
    drains: int = 0  # write-combining / write-through lines drained
    maintenance_ops: int = 0  # guest and kernel maintenance operations

    def dirty_lines(self, model: CacheModel) -> int:
        return sum(1 for _ in model.dirty_lines())


# The memory-type classes a MEMTYPE_CONFLICT hazard tells apart
_MAPPING_KIND = {
    mt: "cached" if mt.cacheable else "write-combining" if mt is MemType.NORMAL_NC else "uncached"
    for mt in MemType
}


@dataclass
class _Page:
    """A physical page resident in the cache view (or the WC view)."""

    region: MemoryRegion
    off: int  # offset of the page in its region
    snap: bytearray  # what the cache holds as clean data
    vaddr: int = 0  # a virtual address it was last mapped at
    first_store: Writer | None = None  # first CPU store since the page was last all clean
    stale: dict[int, Writer] = field(default_factory=dict)  # line offset -> device write


class CacheModel:
    def __init__(
        self,
        bus: PhysBus,
        line_size: int,
        config: CacheConfig,
        now: Callable[[], int],
        flush_tlb: Callable[[], None],
    ) -> None:
        self.bus = bus
        self.line = line_size
        self.config = config
        self.now = now
        self.flush_tlb = flush_tlb
        self.pages: dict[int, _Page] = {}  # cache-view residents by physical page
        self.wc_pages: dict[int, _Page] = {}  # WC-view residents
        self.wt_pages: set[int] = set()
        self.page_types: dict[int, dict[str, int]] = {}  # ppage -> {class: vaddr}
        self.hazards: list[Hazard] = []
        self.on_hazard: Callable[[Hazard], None] = lambda h: None
        self.stats = CacheStats()
        self._reported_conflicts: set[int] = set()
        self._pending_setway: dict[int, str] = {}
        self._rearm = False
        if config.policy is Policy.LRU:
            self.sets = config.size // (config.ways * line_size)
            self._lru: list[OrderedDict[int, None]] = [OrderedDict() for _ in range(self.sets)]
        else:
            self.sets = (32 * 1024) // (4 * line_size)  # geometry for set/way operations

    # -- TLB fills ----------------------------------------------------------------------------

    def map_page(
        self,
        ppage: int,
        memtype: MemType,
        vaddr: int,
        access: AccessType,
        pc_of: Callable[[], int],
    ) -> tuple[int, int]:
        """Where a TLB entry for `ppage` must point, and which PROT_* bits it may carry.
        `pc_of()` reads the PC of the access, needed only when something is recorded."""
        region = self.bus.find_memory(ppage, PAGE)
        full = PROT_READ | PROT_WRITE | PROT_EXEC
        if region is None or self.config.policy is Policy.OFF:
            return ppage, full  # no cache: no view to choose, no attribute mismatch to matter
        self._note_type(ppage, memtype, vaddr, pc_of)
        if memtype in (
            MemType.STRONGLY_ORDERED,
            MemType.DEVICE,
        ):
            return ppage, full
        if memtype is MemType.NORMAL_NC:
            self._resident(self.wc_pages, ppage, region, vaddr)
            return ppage + WC_VIEW_OFFSET, full
        page = self._resident(self.pages, ppage, region, vaddr)
        if memtype is MemType.WRITE_THROUGH:
            self.wt_pages.add(ppage)
        line_off = (vaddr & (PAGE - 1)) & ~(self.line - 1)
        if access is AccessType.READ and line_off in page.stale:
            self._stale_read(ppage, page, line_off, vaddr, pc_of())
        if self.config.policy is Policy.LRU:
            self._touch(ppage + line_off)
        if access is AccessType.WRITE:
            if page.first_store is None:
                page.first_store = Writer("CPU", self.now(), pc_of(), vaddr)
            return ppage + CACHE_VIEW_OFFSET, full
        if page.first_store is None:
            return ppage + CACHE_VIEW_OFFSET, full & ~PROT_WRITE  # catch the first store
        return ppage + CACHE_VIEW_OFFSET, full

    def _resident(
        self, table: dict[int, _Page], ppage: int, region: MemoryRegion, vaddr: int
    ) -> _Page:
        page = table.get(ppage)
        if page is None:
            off = ppage - region.base
            data = region.mem[off : off + PAGE]
            if data != _ZERO_PAGE:  # a view page never resident before still holds zeros:
                view = region.cache if table is self.pages else region.wc
                view[off : off + PAGE] = data  # skipping the copy spares a host page fault
            page = table[ppage] = _Page(region, off, bytearray(data))
            self.stats.fills += 1
        page.vaddr = vaddr & ~(PAGE - 1)
        return page

    def mappings_changed(self) -> None:
        """The guest changed its translation regime or invalidated TLB entries: mappings seen
        so far may be gone, so only mappings used from now on can conflict."""
        self.page_types.clear()

    def _note_type(
        self, ppage: int, memtype: MemType, vaddr: int, pc_of: Callable[[], int]
    ) -> None:
        kind = _MAPPING_KIND[memtype]
        seen = self.page_types.get(ppage)
        if seen is None:  # the common case: a page's first mapping since the last change
            self.page_types[ppage] = {kind: vaddr & ~(PAGE - 1)}
            return
        if kind not in seen:
            seen[kind] = vaddr & ~(PAGE - 1)
        if len(seen) > 1 and ppage not in self._reported_conflicts:
            self._reported_conflicts.add(ppage)
            maps = ", ".join(f"{k} at VA {v:#010x}" for k, v in seen.items())
            self._hazard(
                HazardKind.MEMTYPE_CONFLICT,
                ppage,
                vaddr,
                pc_of(),
                "CPU mapping",
                None,
                f"mapped {maps}",
            )

    # -- views --------------------------------------------------------------------------------

    def _line_dirty(self, page: _Page, line_off: int, view: mmap.mmap | None = None) -> bool:
        buf = page.region.cache if view is None else view
        start = page.off + line_off
        return buf[start : start + self.line] != page.snap[line_off : line_off + self.line]

    def _dirty_offsets(self, page: _Page, view: object | None = None) -> Iterator[int]:
        buf = page.region.cache if view is None else view
        start = page.off
        if buf[start : start + PAGE] == page.snap:  # type: ignore[index]
            return
        for i in range(0, PAGE, self.line):
            if buf[start + i : start + i + self.line] != page.snap[i : i + self.line]:  # type: ignore[index]
                yield i

    def dirty_lines(self) -> Iterator[int]:
        """Physical addresses of every dirty line in the cache view."""
        for ppage, page in self.pages.items():
            for off in self._dirty_offsets(page):
                yield ppage + off

    def _write_back(self, ppage: int, page: _Page, off: int, view: object) -> None:
        a = page.off + off
        data = view[a : a + self.line]  # type: ignore[index]
        page.region.mem[a : a + self.line] = data
        page.snap[off : off + self.line] = data

    def _refill(self, page: _Page, off: int) -> None:
        a = page.off + off
        data = page.region.mem[a : a + self.line]
        page.region.cache[a : a + self.line] = data
        page.snap[off : off + self.line] = data

    # -- maintenance by physical address --------------------------------------------------------

    def _lines_of(self, paddr: int, size: int) -> Iterator[tuple[int, _Page, int]]:
        start = paddr & ~(self.line - 1)
        end = paddr + max(size, 1)
        for line in range(start, end, self.line):
            ppage = line & ~(PAGE - 1)
            page = self.pages.get(ppage)
            if page is not None:
                yield ppage, page, line - ppage

    def clean(self, paddr: int, size: int, pc: int | None = None) -> None:
        self.stats.maintenance_ops += 1
        for ppage, page, off in self._lines_of(paddr, size):
            self._clean_line(ppage, page, off, pc)

    def _clean_line(self, ppage: int, page: _Page, off: int, pc: int | None) -> None:
        if not self._line_dirty(page, off):
            return
        stale = page.stale.pop(off, None)
        if stale is not None:
            self._hazard(
                HazardKind.WRITEBACK_OVER_DEVICE_DATA,
                ppage + off,
                page.vaddr + off,
                pc,
                "clean",
                stale,
                f"{stale.who} wrote the line at t={stale.time_ns / 1000:.3f} us",
            )
        self._write_back(ppage, page, off, page.region.cache)
        self.stats.cleans += 1
        self._maybe_all_clean(page)

    def invalidate(self, paddr: int, size: int, pc: int | None = None) -> None:
        self.stats.maintenance_ops += 1
        for ppage, page, off in self._lines_of(paddr, size):
            self._invalidate_line(ppage, page, off, pc, "invalidate")
            self._maybe_all_clean(page)

    def _invalidate_line(
        self, ppage: int, page: _Page, off: int, pc: int | None, by: str | None
    ) -> None:
        """Drop a line: refilled at once from memory (worst case: speculative fills). `by`
        names the operation when dropping dirty data is a hazard (not after a clean)."""
        if by is not None and self._line_dirty(page, off):
            self._hazard(
                HazardKind.INVALIDATE_DROPPED_DIRTY,
                ppage + off,
                page.vaddr + off,
                pc,
                by,
                page.first_store,
            )
        self._refill(page, off)
        page.stale.pop(off, None)
        self.stats.invalidates += 1

    def flush(self, paddr: int, size: int, pc: int | None = None) -> None:
        """Clean and invalidate."""
        self.stats.maintenance_ops += 1
        for ppage, page, off in self._lines_of(paddr, size):
            self._clean_line(ppage, page, off, pc)
            self._invalidate_line(ppage, page, off, pc, None)

    def flush_all(self, pc: int | None = None, invalidate: bool = True) -> None:
        """Whole cache: x86 wbinvd, set/way loops."""
        self.stats.maintenance_ops += 1
        for ppage, page in self.pages.items():
            for off in list(self._dirty_offsets(page)):
                self._clean_line(ppage, page, off, pc)
            if invalidate:
                for off in list(page.stale):
                    self._refill(page, off)
                page.stale.clear()

    def set_way(self, op: str, set_index: int, way: int) -> None:
        """ARM DC*SW: gathered and applied at the next barrier (lines are not tied to ways
        in the worst-case model, so way 0 of a set stands for the whole set)."""
        if way == 0:
            self._pending_setway[set_index % self.sets] = op

    def apply_set_way(self, pc: int | None = None) -> None:
        if not self._pending_setway:
            return
        pending, self._pending_setway = self._pending_setway, {}
        self.stats.maintenance_ops += len(pending)
        for ppage, page in self.pages.items():
            for off in range(0, PAGE, self.line):
                op = pending.get(((ppage + off) // self.line) % self.sets)
                if op is None:
                    continue
                if op in ("clean", "flush"):
                    self._clean_line(ppage, page, off, pc)
                if op in ("invalidate", "flush"):
                    by = "invalidate by set/way" if op == "invalidate" else None
                    self._invalidate_line(ppage, page, off, pc, by)

    def _maybe_all_clean(self, page: _Page) -> None:
        if (
            page.first_store is not None
            and page.region.cache[page.off : page.off + PAGE] == page.snap
        ):
            page.first_store = None
            self._rearm = True  # drop TLB entries at the slice end to catch the next store

    # -- barriers: write-combining and write-through drains --------------------------------------

    def drain(self) -> None:
        """Buffered writes reach memory: WC lines, and write-through lines."""
        for page in self.wc_pages.values():
            for off in list(self._dirty_offsets(page, page.region.wc)):
                self._write_back(0, page, off, page.region.wc)
                self.stats.drains += 1
        for ppage in self.wt_pages:
            page = self.pages[ppage]
            for off in list(self._dirty_offsets(page)):
                page.stale.pop(off, None)
                self._write_back(ppage, page, off, page.region.cache)
                self.stats.drains += 1

    def slice_end(self) -> None:
        self.apply_set_way()
        self.drain()
        self.note_dirty_lines()
        if self._rearm:
            self._rearm = False
            self.flush_tlb()

    # -- the CPU's accesses made by Python (kernel code, exception entry, debuggers) -------------

    def _view(self, paddr: int, memtype: MemType, vaddr: int) -> tuple[MemoryRegion, object]:
        ppage = paddr & ~(PAGE - 1)
        if memtype is MemType.WRITE_BACK and self.config.policy is not Policy.OFF:
            page = self.pages.get(ppage)  # the common case: table walks, kernel data
            if page is not None:
                return page.region, page.region.cache
        region = self.bus.find_memory(paddr)
        if region is None:
            raise KeyError(paddr)
        if self.config.policy is Policy.OFF or memtype in (
            MemType.STRONGLY_ORDERED,
            MemType.DEVICE,
        ):
            return region, region.mem
        if memtype is MemType.NORMAL_NC:
            self._resident(self.wc_pages, ppage, region, vaddr)
            return region, region.wc
        self._resident(self.pages, ppage, region, vaddr)
        if memtype is MemType.WRITE_THROUGH:
            self.wt_pages.add(ppage)
        return region, region.cache

    def cpu_read(self, paddr: int, size: int, memtype: MemType, vaddr: int) -> bytes:
        """Bytes the CPU reads at `paddr` through a mapping of `memtype` (within one page)."""
        region, view = self._view(paddr, memtype, vaddr)
        off = paddr - region.base
        return bytes(view[off : off + size])  # type: ignore[index]

    def cpu_write(self, paddr: int, data: bytes, memtype: MemType, vaddr: int) -> None:
        """The CPU stores `data` at `paddr` through a mapping of `memtype` (within one page)."""
        region, view = self._view(paddr, memtype, vaddr)
        off = paddr - region.base
        view[off : off + len(data)] = data  # type: ignore[index]
        page = self.pages.get(paddr & ~(PAGE - 1)) if view is region.cache else None
        if page is not None and page.first_store is None:
            page.first_store = Writer("CPU (kernel code)", self.now(), None, vaddr)

    def cpu_write_page_clean(self, ppage: int, data: bytes) -> None:
        """The CPU stores a whole write-back page and cleans it (the kernel's
        clear_user_highpage / copy_user_highpage followed by flush_dcache_page): memory, the
        cache view and its snapshot all hold `data`, and no line is dirty."""
        region = self.bus.find_memory(ppage, PAGE)
        if region is None:
            raise KeyError(ppage)
        off = ppage - region.base
        if region.mem[off : off + PAGE] != data:  # (a host page never touched stays so)
            region.mem[off : off + PAGE] = data
        page = self.pages.get(ppage)
        if page is not None:  # a page never resident needs nothing more: its first fill
            region.cache[off : off + PAGE] = data  # copies memory in
            page.snap[:] = data
            page.stale.clear()
            if page.first_store is not None:
                page.first_store = None
                self._rearm = True
        wc = self.wc_pages.get(ppage)
        if wc is not None:
            region.wc[off : off + PAGE] = data
            wc.snap[:] = data

    # -- bus masters --------------------------------------------------------------------------

    def device_read(self, paddr: int, size: int, who: str, coherent: bool) -> None:
        """Called before a bus master reads memory."""
        self.drain()
        for ppage, page, off in self._lines_of(paddr, size):
            if not self._line_dirty(page, off):
                continue
            if coherent:  # snoop: the cache supplies the line
                self._write_back(ppage, page, off, page.region.cache)
            else:
                self._hazard(
                    HazardKind.DEVICE_READ_DIRTY,
                    ppage + off,
                    page.vaddr + off,
                    None,
                    f"{who} read",
                    page.first_store,
                )

    def device_write(self, paddr: int, size: int, who: str, coherent: bool) -> None:
        """Called after a bus master wrote memory."""
        writer = Writer(who, self.now())
        trap = False
        for ppage, page, off in self._lines_of(paddr, size):
            if coherent or not self._cached(ppage + off):
                self._refill(page, off)  # snooped, or an uncached line: the CPU sees it
            else:
                page.stale[off] = writer
                trap = True
        for line in range(paddr & ~(self.line - 1), paddr + max(size, 1), self.line):
            wc = self.wc_pages.get(line & ~(PAGE - 1))
            if wc is not None:
                off = line & (PAGE - 1)
                if not self._line_dirty(wc, off, wc.region.wc):
                    a = wc.off + off
                    data = wc.region.mem[a : a + self.line]
                    wc.region.wc[a : a + self.line] = data
                    wc.snap[off : off + self.line] = data
        if trap:
            self.flush_tlb()  # the CPU's next access to these pages refills and is checked

    def _stale_read(self, ppage: int, page: _Page, off: int, vaddr: int, pc: int) -> None:
        writer = page.stale[off]
        self._hazard(
            HazardKind.CPU_READ_STALE, ppage + off, vaddr & ~(self.line - 1), pc, "CPU read", writer
        )

    # -- lru ----------------------------------------------------------------------------------

    def _cached(self, line: int) -> bool:
        if self.config.policy is not Policy.LRU:
            return True
        return line in self._lru[(line // self.line) % self.sets]

    def _touch(self, line: int) -> None:
        lru = self._lru[(line // self.line) % self.sets]
        if line in lru:
            lru.move_to_end(line)
            return
        lru[line] = None
        while len(lru) > self.config.ways:
            victim, _ = lru.popitem(last=False)
            vpage = victim & ~(PAGE - 1)
            page = self.pages.get(vpage)
            if page is not None:
                off = victim - vpage
                if self._line_dirty(page, off):
                    self._write_back(vpage, page, off, page.region.cache)
                self._refill(page, off)
                page.stale.pop(off, None)
                self.stats.evictions += 1

    def note_dirty_lines(self) -> None:
        """lru: lines the CPU dirtied since the last look count as recently used."""
        if self.config.policy is not Policy.LRU:
            return
        for ppage, page in self.pages.items():
            if page.first_store is None:
                continue
            for off in list(self._dirty_offsets(page)):
                self._touch(ppage + off)

    # -- reports ------------------------------------------------------------------------------

    def _hazard(
        self,
        kind: HazardKind,
        paddr: int,
        vaddr: int | None,
        pc: int | None,
        by: str,
        writer: Writer | None,
        detail: str = "",
    ) -> None:
        h = Hazard(kind, paddr & ~(self.line - 1), vaddr, self.now(), pc, by, writer, detail)
        self.hazards.append(h)
        self.on_hazard(h)
