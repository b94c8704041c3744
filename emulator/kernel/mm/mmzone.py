"""The memory node, its zones and struct page: include/linux/mmzone.h, mm_types.h, page-flags.h,
and what /proc shows of their counters (mm/vmstat.c, mm/show_mem.c, fs/proc/meminfo.c).

One node (`contig_page_data`, a flat memory model) spans the board's DRAM. Its zones come
from the architecture's layout (ZONE_DMA on x86 and on ARM boards whose DMA masters cannot
reach all of RAM, ZONE_NORMAL, ZONE_HIGHMEM above the lowmem limit). Each zone has
`free_area[order]` for orders 0..MAX_ORDER, watermarks and lowmem_reserve, which
mm/page_alloc.py fills in at boot.

`mem_map` covers every DRAM pfn but creates a `Page` only when one is first looked at: a
1 GiB board has 262144 pages and most are never touched, so boot stays cheap. A page created
late starts in the state boot left it in — PG_reserved with one reference inside a reserved
range, otherwise unreferenced.

`NODE_DATA(0)` is the current kernel's node; the statistics at the end (nr_free_pages(),
buddyinfo(), meminfo_fields(), ...) read it. mm/page_alloc.py re-exports all of them.

Deviations: PG_buddy is a page flag here (Linux keeps it in page_type); a compound page's
order lives in `Page.compound_order` (Linux: the folio's second page); flag bit positions
are soclab's own; there are no migrate types, pageblocks or per-CPU lists.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, NewType

from emulator.kernel.core import PAGE_SHIFT, current_kernel

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

Pfn = NewType("Pfn", int)

MAX_ORDER = 10  # inclusive, as since Linux 6.4 (MAX_PAGE_ORDER since 6.8): 4 MiB blocks
NR_PAGE_ORDERS = MAX_ORDER + 1
PAGE_ALLOC_COSTLY_ORDER = 3

WMARK_MIN, WMARK_LOW, WMARK_HIGH = 0, 1, 2


class ZoneType(enum.IntEnum):
    """enum zone_type, as on x86-32 (there is no ZONE_DMA32 or ZONE_MOVABLE here)."""

    ZONE_DMA = 0
    ZONE_NORMAL = 1
    ZONE_HIGHMEM = 2


#: zone names as /proc/buddyinfo prints them
ZONE_TYPES = {
    "DMA": ZoneType.ZONE_DMA,
    "Normal": ZoneType.ZONE_NORMAL,
    "HighMem": ZoneType.ZONE_HIGHMEM,
}


class PageFlags(enum.IntFlag):
    """page->flags (include/linux/page-flags.h), the ones the kernel model uses."""

    PG_locked = 1 << 0
    PG_dirty = 1 << 4
    PG_lru = 1 << 5
    PG_head = 1 << 6  # first page of a compound (__GFP_COMP) page
    PG_slab = 1 << 9
    PG_reserved = 1 << 12  # never handed out: kernel image, firmware, holes
    PG_private = 1 << 13
    PG_buddy = 1 << 24  # first page of a free block on a free list (Linux: a page type)


#: Flags a page must not have when it is freed (PAGE_FLAGS_CHECK_AT_FREE).
PAGE_FLAGS_CHECK_AT_FREE = int(
    PageFlags.PG_locked
    | PageFlags.PG_lru
    | PageFlags.PG_slab
    | PageFlags.PG_reserved
    | PageFlags.PG_private
)


class Page:
    """struct page: one physical page frame."""

    __slots__ = (
        "pfn",
        "zone",
        "flags",
        "_refcount",
        "_mapcount",
        "private",
        "virtual",
        "mapping",
        "index",
        "compound_head",
        "compound_order",
        "slab_cache",
        "slab",
    )

    def __init__(self, pfn: Pfn, zone: Zone, flags: int, refcount: int) -> None:
        self.pfn = pfn
        self.zone = zone
        self.flags = int(flags)  # PageFlags bits, kept as an int: the free lists test them
        self._refcount = refcount
        self._mapcount = -1  # page_mapcount() is _mapcount + 1, as in Linux
        self.private = 0  # the block's order while PG_buddy
        self.virtual: int | None = None  # kmap address of a highmem page, set by kmap
        self.mapping: Any = None
        self.index = 0
        self.compound_head: Page | None = None  # set on the tail pages of a compound page
        self.compound_order = 0  # set on the head page of a compound page
        self.slab_cache: Any = None  # for mm/slab: the kmem_cache this slab page belongs to
        self.slab: Any = None  # for mm/slab: its struct slab

    def __repr__(self) -> str:
        return (
            f"Page(pfn={self.pfn:#x}, zone={self.zone.name}, flags={dump_flags(self)}, "
            f"refcount={self._refcount})"
        )


def dump_flags(page: Page) -> str:
    """%pGp: '0x1000(reserved|zone=0)'."""
    names = [f.name[3:] for f in PageFlags if f & page.flags and f.name]
    return f"{int(page.flags):#x}({'|'.join([*names, f'zone={page.zone.idx}'])})"


class FreeArea:
    """struct free_area: free blocks of one order, by first pfn. The list head is the end of
    the dict (insertion order), so blocks go and come back last in, first out, as in Linux."""

    __slots__ = ("free_list",)

    def __init__(self) -> None:
        self.free_list: dict[Pfn, Page] = {}

    @property
    def nr_free(self) -> int:
        return len(self.free_list)


class Zone:
    """struct zone."""

    def __init__(self, pgdat: PglistData, name: str, idx: int, start: int, end: int) -> None:
        self.zone_pgdat = pgdat
        self.name = name
        self.zone_type = ZONE_TYPES[name]
        self.idx = idx  # zone_idx(): position among the node's zones
        self.zone_start_pfn = Pfn(start)
        self.spanned_pages = end - start
        self.present_pages = end - start  # DRAM has no holes
        self.managed_pages = 0  # present minus reserved: what the buddy allocator manages
        self.free_area = [FreeArea() for _ in range(NR_PAGE_ORDERS)]
        self.nr_free_pages = 0  # NR_FREE_PAGES
        self._watermark = [0, 0, 0]  # WMARK_MIN, WMARK_LOW, WMARK_HIGH
        self.lowmem_reserve = [0] * len(pgdat.kernel.layout.zones)

    @property
    def zone_end_pfn(self) -> Pfn:
        return Pfn(self.zone_start_pfn + self.spanned_pages)

    def is_highmem(self) -> bool:
        return self.zone_type == ZoneType.ZONE_HIGHMEM

    def populated_zone(self) -> bool:
        return self.present_pages > 0

    def managed_zone(self) -> bool:
        return self.managed_pages > 0

    def zone_spans_pfn(self, pfn: int) -> bool:
        return self.zone_start_pfn <= pfn < self.zone_end_pfn

    def min_wmark_pages(self) -> int:
        return self._watermark[WMARK_MIN]

    def low_wmark_pages(self) -> int:
        return self._watermark[WMARK_LOW]

    def high_wmark_pages(self) -> int:
        return self._watermark[WMARK_HIGH]

    def __repr__(self) -> str:
        return f"Zone({self.name}, pfn {self.zone_start_pfn:#x}-{self.zone_end_pfn:#x})"


class MemMap:
    """mem_map[]: the struct page of every DRAM pfn, created on first use."""

    def __init__(self, pgdat: PglistData, reserved: list[tuple[int, int]]) -> None:
        self.pgdat = pgdat
        self.reserved = reserved  # [start_pfn, end_pfn) ranges
        self._pages: dict[int, Page] = {}

    def __getitem__(self, pfn: int) -> Page:
        page = self._pages.get(pfn)
        if page is None:
            page = self._pages[pfn] = self._init_single_page(pfn)
        return page

    def get(self, pfn: int) -> Page | None:
        """The page if it was ever looked at (else it is in its boot state)."""
        return self._pages.get(pfn)

    def __contains__(self, pfn: object) -> bool:
        return isinstance(pfn, int) and self.pgdat.pfn_valid(pfn)

    def __len__(self) -> int:
        return self.pgdat.node_spanned_pages

    def is_reserved(self, pfn: int) -> bool:
        return any(s <= pfn < e for s, e in self.reserved)

    def _init_single_page(self, pfn: int) -> Page:
        for zone in self.pgdat.node_zones:
            if zone.zone_spans_pfn(pfn):
                if self.is_reserved(pfn):
                    return Page(Pfn(pfn), zone, int(PageFlags.PG_reserved), 1)
                return Page(Pfn(pfn), zone, 0, 0)
        raise IndexError(f"pfn {pfn:#x} is not in DRAM: no struct page")


class PglistData:
    """struct pglist_data: the one memory node (contig_page_data) with its zones and mem_map."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        lay = kernel.layout
        self.node_zones = [
            Zone(self, z.name, i, z.start_pfn, z.end_pfn) for i, z in enumerate(lay.zones)
        ]
        self.node_start_pfn = Pfn(lay.zones[0].start_pfn)
        self.node_spanned_pages = lay.zones[-1].end_pfn - lay.zones[0].start_pfn
        reserved = [(pa >> 12, (pa + size + 0xFFF) >> 12) for pa, size, _name in lay.reserved]
        self.node_mem_map = MemMap(self, reserved)
        self.mem_map = self.node_mem_map
        self.min_free_kbytes = 0
        self.totalreserve_pages = 0
        # node_zonelists, by the highest zone type an allocation allows (built on first use;
        # dropped when a zone's managed pages change)
        self.node_zonelists: dict[ZoneType, tuple[list[Zone], int]] = {}

    def pfn_valid(self, pfn: int) -> bool:
        return self.node_start_pfn <= pfn < self.node_start_pfn + self.node_spanned_pages

    def populated_zones(self) -> list[Zone]:
        return [z for z in self.node_zones if z.populated_zone()]


# -- the node's counters and what /proc shows of them (mmzone.h, vmstat.c, show_mem.c) ------------


def K(pages: int) -> int:
    """Pages to kB."""
    return pages << (PAGE_SHIFT - 10)


def NODE_DATA(nid: int = 0) -> PglistData:  # noqa: N802 - Linux's name
    """The memory node of the current kernel (there is one: contig_page_data)."""
    pgdat: PglistData | None = current_kernel().subsystems.get("page_alloc")
    if pgdat is None or nid != 0:
        raise RuntimeError("no page allocator: import emulator.kernel.mm.page_alloc before boot")
    return pgdat


def show_free_areas(pgdat: PglistData) -> str:
    """mm/show_mem.c: the Mem-Info part of show_mem(), abridged to what this model has (a
    kernel without CONFIG_NUMA prints no "Node 0" before the zone lines)."""
    lines = ["Mem-Info:"]
    for z in pgdat.populated_zones():
        lines.append(
            f"{z.name} free:{K(z.nr_free_pages)}kB min:{K(z.min_wmark_pages())}kB "
            f"low:{K(z.low_wmark_pages())}kB high:{K(z.high_wmark_pages())}kB "
            f"present:{K(z.present_pages)}kB managed:{K(z.managed_pages)}kB"
        )
        lines.append("lowmem_reserve[]:" + "".join(f" {r}" for r in z.lowmem_reserve))
    for z in pgdat.populated_zones():
        areas = "".join(f"{fa.nr_free}*{K(1) << o}kB " for o, fa in enumerate(z.free_area))
        lines.append(f"{z.name}: {areas}= {K(z.nr_free_pages)}kB")
    return "\n".join(lines)


def nr_free_pages_of(pgdat: PglistData) -> int:
    return sum(z.nr_free_pages for z in pgdat.node_zones)


def nr_free_pages() -> int:
    return nr_free_pages_of(NODE_DATA(0))


def totalram_pages() -> int:
    return sum(z.managed_pages for z in NODE_DATA(0).node_zones)


def totalhigh_pages() -> int:
    return sum(z.managed_pages for z in NODE_DATA(0).node_zones if z.is_highmem())


def zone_free_pages() -> dict[str, int]:
    """Free pages per zone, by name."""
    return {z.name: z.nr_free_pages for z in NODE_DATA(0).node_zones}


def buddyinfo() -> str:
    """/proc/buddyinfo (mm/vmstat.c frag_show_print): free blocks per order, populated zones."""
    return "".join(
        f"Node 0, zone {z.name:>8} " + "".join(f"{fa.nr_free:6d} " for fa in z.free_area) + "\n"
        for z in NODE_DATA(0).populated_zones()
    )


def meminfo_fields() -> dict[str, int]:
    """The page allocator's lines of /proc/meminfo, in kB. MemAvailable is si_mem_available()
    without page cache or reclaimable slab: free pages less totalreserve_pages."""
    pgdat = NODE_DATA(0)
    total, free = totalram_pages(), nr_free_pages_of(pgdat)
    high = [z for z in pgdat.node_zones if z.is_highmem()]
    high_total = sum(z.managed_pages for z in high)
    high_free = sum(z.nr_free_pages for z in high)
    return {
        "MemTotal": K(total),
        "MemFree": K(free),
        "MemAvailable": K(max(free - pgdat.totalreserve_pages, 0)),
        "HighTotal": K(high_total),
        "HighFree": K(high_free),
        "LowTotal": K(total - high_total),
        "LowFree": K(free - high_free),
    }
