"""The buddy page allocator: mm/page_alloc.c (Linux 6.x), with its boot, GFP and /proc sides.

Models: per-zone free_area[order] lists with splitting and coalescing; zone selection from
the GFP flags with Linux's zonelist fallback (HighMem → Normal → DMA) and lowmem_reserve;
watermarks computed as init_per_zone_wmark_min() does (min_free_kbytes, watermark_scale_factor
10, highmem's small min) and checked by __zone_watermark_ok() — WMARK_LOW on the fast path,
WMARK_MIN on the slow path, less for __GFP_HIGH and non-blocking callers, none for
__GFP_MEMALLOC; __GFP_ZERO, __GFP_COMP, __GFP_NOWARN, __GFP_NOFAIL; might_sleep() for
blocking allocations; warn_alloc()'s failure report and bad_page()'s "Bad page state"
report (checked as with CONFIG_DEBUG_VM, so a double or wrong free never reaches the free
lists); /proc/buddyinfo and the /proc/meminfo fields.

Not modelled: reclaim, compaction, kswapd and the OOM killer (so when the slow path fails the
allocation fails, and __GFP_NORETRY / __GFP_RETRY_MAYFAIL change nothing), per-CPU page
lists, migrate types and pageblocks, the high-atomic reserve, NUMA (one node), CMA, page
shuffling and buddy_merge_likely()'s to-tail placement, memory hotplug, ratelimiting.

Deviations: mem_map is not in guest RAM (it costs no managed pages); __GFP_NOFAIL, which
Linux retries forever behind reclaim, gets one last try without watermarks and then a
WARNING; __get_free_pages() with __GFP_HIGHMEM WARNs and fails (Linux 6.x drops the flag
silently, older kernels hit a VM_BUG_ON); reports name the current task "swapper/0" and add
the Python caller in place of a stack trace.
"""

# The buddy allocator (after the comment above __free_one_page() in mm/page_alloc.c):
#
# Free memory is kept as blocks of 2**order pages, naturally aligned (a block of order n
# starts at a multiple of 2**n pages), on the free_area[order] list of its zone; the block's
# first page carries PG_buddy and its order in page->private. Two free blocks of order n
# that together make an aligned block of order n+1 are buddies: the buddy of the block at
# pfn is at pfn ^ (1 << n).
#
# Allocating order n takes the first block of the smallest non-empty list of order >= n and
# splits it, giving back the upper halves (expand()). Freeing merges the block with its buddy
# for as long as the buddy is a free block of the same order, then lists the result. Two free
# buddies therefore never coexist below MAX_ORDER, and a zone whose pages are all free again
# has exactly the free lists it had at boot.
#
# A zone may give a page only while it stays above a watermark (__zone_watermark_ok()):
# WMARK_LOW on the fast path; WMARK_MIN on the slow path (reclaim would run here in Linux),
# half of it for __GFP_HIGH and 3/8 of it for GFP_ATOMIC; none for __GFP_MEMALLOC. Zones are
# tried from the highest the GFP flags allow down, and a lower zone holds lowmem_reserve pages
# back from allocations that could have used a higher one.

from __future__ import annotations

import math

from emulator.bus import PhysAddr
from emulator.kernel.core import (
    KERN_INFO,
    KERN_WARNING,
    PAGE_SHIFT,
    PAGE_SIZE,
    Kernel,
    KernelBug,
    current_kernel,
    mm_init_hook,
    python_caller,
    virt_addr_valid,
    virt_to_phys,
)
from emulator.kernel.gfp import (
    __GFP_COMP,
    __GFP_DIRECT_RECLAIM,
    __GFP_DMA,
    __GFP_HIGH,
    __GFP_HIGHMEM,
    __GFP_KSWAPD_RECLAIM,
    __GFP_MEMALLOC,
    __GFP_NOFAIL,
    __GFP_NOMEMALLOC,
    __GFP_NOWARN,
    __GFP_ZERO,
    format_gfp,
    gfp_t,
    gfpflags_allow_blocking,
)
from emulator.kernel.mm.mmzone import MAX_ORDER as MAX_ORDER
from emulator.kernel.mm.mmzone import NODE_DATA as NODE_DATA
from emulator.kernel.mm.mmzone import NR_PAGE_ORDERS as NR_PAGE_ORDERS
from emulator.kernel.mm.mmzone import (
    PAGE_FLAGS_CHECK_AT_FREE,
    WMARK_HIGH,
    WMARK_LOW,
    WMARK_MIN,
    K,
    dump_flags,
    nr_free_pages_of,
    show_free_areas,
)
from emulator.kernel.mm.mmzone import Page as Page
from emulator.kernel.mm.mmzone import PageFlags as PageFlags
from emulator.kernel.mm.mmzone import Pfn as Pfn
from emulator.kernel.mm.mmzone import PglistData as PglistData
from emulator.kernel.mm.mmzone import Zone as Zone
from emulator.kernel.mm.mmzone import ZoneType as ZoneType
from emulator.kernel.mm.mmzone import buddyinfo as buddyinfo
from emulator.kernel.mm.mmzone import meminfo_fields as meminfo_fields
from emulator.kernel.mm.mmzone import nr_free_pages as nr_free_pages
from emulator.kernel.mm.mmzone import totalhigh_pages as totalhigh_pages
from emulator.kernel.mm.mmzone import totalram_pages as totalram_pages
from emulator.kernel.mm.mmzone import zone_free_pages as zone_free_pages

# page->flags is a plain int (IntFlag arithmetic costs microseconds on every free-list move);
# PageFlags names the bits for dump_page.
PG_locked, PG_dirty, PG_lru = (
    int(PageFlags.PG_locked),
    int(PageFlags.PG_dirty),
    int(PageFlags.PG_lru),
)
PG_head, PG_slab, PG_reserved = (
    int(PageFlags.PG_head),
    int(PageFlags.PG_slab),
    int(PageFlags.PG_reserved),
)
PG_private, PG_buddy = int(PageFlags.PG_private), int(PageFlags.PG_buddy)


# mm/internal.h: alloc_flags
ALLOC_WMARK_MIN = WMARK_MIN
ALLOC_WMARK_LOW = WMARK_LOW
ALLOC_NO_WATERMARKS = 0x04
ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1
ALLOC_NON_BLOCK = 0x10  # the caller cannot direct-reclaim (GFP_ATOMIC, GFP_NOWAIT)
ALLOC_MIN_RESERVE = 0x20  # __GFP_HIGH: may use half of the min reserve
ALLOC_KSWAPD = 0x800  # __GFP_KSWAPD_RECLAIM

SWAP_CLUSTER_MAX = 32
watermark_scale_factor = 10
sysctl_lowmem_reserve_ratio = {ZoneType.ZONE_DMA: 256, ZoneType.ZONE_NORMAL: 32}
COMM = "swapper/0"  # current->comm: there are no tasks yet


# -- boot: free_area_init(), memblock_free_all(), init_per_zone_wmark_min() --------------------


@mm_init_hook
def mem_init(kernel: Kernel) -> None:
    """Hand all memory but the reserved ranges to the buddy allocator and set watermarks."""
    pgdat = PglistData(kernel)
    memblock_free_all(pgdat)
    init_per_zone_wmark_min(pgdat)
    kernel.subsystems["page_alloc"] = pgdat
    setattr(kernel, "page_alloc", pgdat)  # noqa: B010 - Kernel does not declare it (yet)
    zones = pgdat.node_zones
    present = sum(z.present_pages for z in zones)
    managed = sum(z.managed_pages for z in zones)
    kernel.printk(
        KERN_INFO,
        f"Memory: {K(nr_free_pages_of(pgdat))}K/{K(present)}K available "
        f"({K(present - managed)}K reserved, 0K cma-reserved, "
        f"{K(sum(z.managed_pages for z in zones if z.is_highmem()))}K highmem)",
    )


def memblock_free_all(pgdat: PglistData) -> None:
    """Free every unreserved range as maximal aligned blocks (__free_pages_memory()), added so
    that the lowest pfn heads each list, as Linux's FPI_TO_TAIL boot frees leave them."""
    for zone in pgdat.node_zones:
        ranges = [(int(zone.zone_start_pfn), int(zone.zone_end_pfn))]
        for rs, re in pgdat.node_mem_map.reserved:
            ranges = [
                r for s, e in ranges for r in ((s, min(e, rs)), (max(s, re), e)) if r[0] < r[1]
            ]
        blocks = []
        for start, end in ranges:
            while start < end:
                order = min(MAX_ORDER, (start & -start).bit_length() - 1) if start else MAX_ORDER
                while start + (1 << order) > end:
                    order -= 1
                blocks.append((start, order))
                start += 1 << order
        for pfn, order in reversed(blocks):
            add_to_free_list(pgdat.node_mem_map[pfn], zone, order)
        zone.managed_pages = zone.nr_free_pages
        pgdat.node_zonelists.clear()


def init_per_zone_wmark_min(pgdat: PglistData) -> None:
    """min_free_kbytes = int_sqrt(lowmem_kbytes * 16) clamped to [128, 262144], then the
    watermarks and lowmem_reserve of every zone."""
    lowmem_kbytes = K(sum(z.managed_pages for z in pgdat.node_zones if not z.is_highmem()))
    pgdat.min_free_kbytes = min(max(math.isqrt(lowmem_kbytes * 16), 128), 262144)
    setup_per_zone_wmarks(pgdat)
    setup_per_zone_lowmem_reserve(pgdat)


def setup_per_zone_wmarks(pgdat: PglistData) -> None:
    """__setup_per_zone_wmarks(): min in proportion to each lowmem zone's size; HighMem gets
    managed/1024 clamped to [32, 128]; low and high are min + 1 and 2 steps of
    max(min/4, managed * watermark_scale_factor / 10000)."""
    pages_min = pgdat.min_free_kbytes >> (PAGE_SHIFT - 10)
    lowmem_pages = sum(z.managed_pages for z in pgdat.node_zones if not z.is_highmem())
    for zone in pgdat.node_zones:
        managed = zone.managed_pages
        tmp = pages_min * managed // lowmem_pages
        if zone.is_highmem():
            zone._watermark[WMARK_MIN] = min(max(managed // 1024, SWAP_CLUSTER_MAX), 128)
        else:
            zone._watermark[WMARK_MIN] = tmp
        scaled = (managed // 10000) * watermark_scale_factor
        step = max(tmp >> 2, scaled + (managed % 10000) * watermark_scale_factor // 10000)
        zone._watermark[WMARK_LOW] = zone._watermark[WMARK_MIN] + step
        zone._watermark[WMARK_HIGH] = zone._watermark[WMARK_LOW] + step
    calculate_totalreserve_pages(pgdat)


def setup_per_zone_lowmem_reserve(pgdat: PglistData) -> None:
    """A lower zone keeps (managed pages of the zones above, cumulated) / ratio pages back from
    allocations whose highest zone is one of those (sysctl_lowmem_reserve_ratio 256, 32)."""
    zones = pgdat.node_zones
    for i, zone in enumerate(zones):
        ratio = sysctl_lowmem_reserve_ratio.get(zone.zone_type, 0)
        upper = 0
        for j in range(i + 1, len(zones)):
            upper += zones[j].managed_pages
            zone.lowmem_reserve[j] = upper // ratio if ratio and zone.managed_pages else 0
    calculate_totalreserve_pages(pgdat)


def calculate_totalreserve_pages(pgdat: PglistData) -> None:
    total = 0
    for i, zone in enumerate(pgdat.node_zones):
        reserve = max(zone.lowmem_reserve[i:], default=0) + zone.high_wmark_pages()
        total += min(reserve, zone.managed_pages)
    pgdat.totalreserve_pages = total


# -- the buddy lists --------------------------------------------------------------------------


def add_to_free_list(page: Page, zone: Zone, order: int) -> None:
    page.flags |= PG_buddy
    page.private = order
    zone.free_area[order].free_list[page.pfn] = page
    zone.nr_free_pages += 1 << order


def del_page_from_free_list(page: Page, zone: Zone, order: int) -> None:
    del zone.free_area[order].free_list[page.pfn]
    page.flags &= ~PG_buddy
    page.private = 0
    zone.nr_free_pages -= 1 << order


def __rmqueue_smallest(zone: Zone, order: int) -> Page | None:
    for current_order in range(order, NR_PAGE_ORDERS):
        area = zone.free_area[current_order]
        if area.free_list:
            page = next(reversed(area.free_list.values()))
            del_page_from_free_list(page, zone, current_order)
            expand(zone, page, order, current_order)
            return page
    return None


def expand(zone: Zone, page: Page, low: int, high: int) -> None:
    """Split a block of order `high` down to `low`, listing the upper half at each step."""
    mem_map = zone.zone_pgdat.node_mem_map
    while high > low:
        high -= 1
        add_to_free_list(mem_map[page.pfn + (1 << high)], zone, high)


def __free_one_page(page: Page, pfn: int, zone: Zone, order: int) -> None:
    while order < MAX_ORDER:
        buddy = zone.free_area[order].free_list.get(Pfn(pfn ^ (1 << order)))
        if buddy is None:
            break
        del_page_from_free_list(buddy, zone, order)
        pfn &= buddy.pfn
        order += 1
    add_to_free_list(zone.zone_pgdat.node_mem_map[pfn], zone, order)


def find_free_block(zone: Zone, pfn: int) -> tuple[Pfn, int] | None:
    """The free block (first pfn, order) that contains pfn, if any."""
    for order, area in enumerate(zone.free_area):
        head = pfn & ~((1 << order) - 1)
        if head in area.free_list:
            return Pfn(head), order
    return None


# -- allocation ---------------------------------------------------------------------------------


def gfp_zone(gfp: gfp_t) -> ZoneType:
    """The highest zone type the flags allow (__GFP_DMA32 is ZONE_NORMAL on 32-bit)."""
    if gfp & __GFP_DMA:
        return ZoneType.ZONE_DMA
    if gfp & __GFP_HIGHMEM:
        return ZoneType.ZONE_HIGHMEM
    return ZoneType.ZONE_NORMAL


def node_zonelist(pgdat: PglistData, gfp: gfp_t) -> tuple[list[Zone], int]:
    """The zones to try, highest first, and highest_zoneidx. Without a DMA zone (an ARM kernel
    without CONFIG_ZONE_DMA) __GFP_DMA means ZONE_NORMAL, as in Linux."""
    want = gfp_zone(gfp)
    zonelist = pgdat.node_zonelists.get(want)
    if zonelist is None:
        allowed = [z for z in pgdat.node_zones if z.zone_type <= want] or [
            z for z in pgdat.node_zones if z.zone_type <= ZoneType.ZONE_NORMAL
        ]
        zones = [z for z in reversed(allowed) if z.managed_zone()]
        zonelist = pgdat.node_zonelists[want] = (zones, allowed[-1].idx)
    return zonelist


def zone_watermark_ok(z: Zone, order: int, mark: int, highest_zoneidx: int, flags: int) -> bool:
    """__zone_watermark_ok(): would the zone stay above `mark` (less the caller's reserves
    and the zone's lowmem_reserve), and has it a free block of at least `order`?"""
    free_pages = z.nr_free_pages - ((1 << order) - 1)
    min_ = mark
    if flags & ALLOC_MIN_RESERVE:
        min_ -= min_ // 2
        if flags & ALLOC_NON_BLOCK:
            min_ -= min_ // 4
    if free_pages <= min_ + z.lowmem_reserve[highest_zoneidx]:
        return False
    return order == 0 or any(z.free_area[o].free_list for o in range(order, NR_PAGE_ORDERS))


def gfp_to_alloc_flags(gfp: gfp_t) -> int:
    flags = ALLOC_WMARK_MIN | (gfp & (__GFP_HIGH | __GFP_KSWAPD_RECLAIM))
    if not gfp & __GFP_DIRECT_RECLAIM and not gfp & __GFP_NOMEMALLOC:
        flags |= ALLOC_NON_BLOCK
    return flags


def get_page_from_freelist(
    pgdat: PglistData, gfp: gfp_t, order: int, alloc_flags: int, zonelist: list[Zone], hz: int
) -> Page | None:
    for zone in zonelist:
        if not alloc_flags & ALLOC_NO_WATERMARKS:
            mark = zone._watermark[alloc_flags & ALLOC_WMARK_MASK]
            if not zone_watermark_ok(zone, order, mark, hz, alloc_flags):
                continue
        page = __rmqueue_smallest(zone, order)
        if page is not None:
            prep_new_page(pgdat, page, order, gfp)
            return page
    return None


def prep_new_page(pgdat: PglistData, page: Page, order: int, gfp: gfp_t) -> None:
    page._refcount = 1
    if gfp & __GFP_ZERO:  # clear_page() through the kernel's cacheable mapping
        zero = bytes(PAGE_SIZE)
        for pfn in range(page.pfn, page.pfn + (1 << order)):
            pgdat.kernel.phys_write(pfn << PAGE_SHIFT, zero)
    if order and gfp & __GFP_COMP:
        page.flags |= PG_head
        page.compound_order = order
        for pfn in range(page.pfn + 1, page.pfn + (1 << order)):
            pgdat.node_mem_map[pfn].compound_head = page


def __alloc_pages(gfp: gfp_t, order: int) -> Page | None:
    """__alloc_pages(): the fast path at WMARK_LOW, then the slow path."""
    pgdat = NODE_DATA(0)
    if order > MAX_ORDER:
        _warn_gfp(pgdat, gfp, f"order {order} > MAX_ORDER ({MAX_ORDER})")
        return None
    if gfpflags_allow_blocking(gfp):
        pgdat.kernel.context.might_sleep("__alloc_pages (mm/page_alloc.c)")
    zonelist, hz = node_zonelist(pgdat, gfp)
    page = get_page_from_freelist(pgdat, gfp, order, ALLOC_WMARK_LOW, zonelist, hz)
    if page is None:
        page = __alloc_pages_slowpath(pgdat, gfp, order, zonelist, hz)
    return page


def __alloc_pages_slowpath(
    pgdat: PglistData, gfp: gfp_t, order: int, zonelist: list[Zone], hz: int
) -> Page | None:
    alloc_flags = gfp_to_alloc_flags(gfp)
    page = get_page_from_freelist(pgdat, gfp, order, alloc_flags, zonelist, hz)
    if page is None and gfp & __GFP_MEMALLOC and not gfp & __GFP_NOMEMALLOC:
        page = get_page_from_freelist(pgdat, gfp, order, ALLOC_NO_WATERMARKS, zonelist, hz)
    if page is not None:
        return page
    # Linux would now reclaim, compact and retry, and call the OOM killer; none of them exist,
    # so nothing can make memory free and every retry would fail the same way.
    if gfp & __GFP_NOFAIL:
        if not gfpflags_allow_blocking(gfp):
            _warn_gfp(pgdat, gfp, "__GFP_NOFAIL without __GFP_DIRECT_RECLAIM cannot wait")
        else:
            for flags in (ALLOC_MIN_RESERVE, ALLOC_NO_WATERMARKS):
                page = get_page_from_freelist(pgdat, gfp, order, flags, zonelist, hz)
                if page is not None:
                    return page
            _warn_gfp(pgdat, gfp, f"__GFP_NOFAIL order-{order} allocation: memory exhausted")
    warn_alloc(pgdat, gfp, order)
    return None


def _warn_gfp(pgdat: PglistData, gfp: gfp_t, message: str, where: str = "__alloc_pages") -> None:
    """WARN_ON_ONCE_GFP(): a warning unless __GFP_NOWARN."""
    if not gfp & __GFP_NOWARN:
        pgdat.kernel.warn(f"at mm/page_alloc.c {where}: {message}")


def warn_alloc(pgdat: PglistData, gfp: gfp_t, order: int) -> None:
    if gfp & __GFP_NOWARN:
        return
    dma = [z for z in pgdat.node_zones if z.zone_type == ZoneType.ZONE_DMA]
    if gfp & __GFP_DMA and dma and not any(z.managed_zone() for z in dma):
        return
    pgdat.kernel.printk(
        KERN_WARNING,
        f"{COMM}: page allocation failure: order:{order}, mode:{gfp:#x}({format_gfp(gfp)}), "
        f"nodemask=(null)\n  caller: {python_caller()}\n{show_free_areas(pgdat)}",
    )


# -- freeing ------------------------------------------------------------------------------------


def __free_pages(page: Page, order: int) -> None:
    """Drop a reference to a block from alloc_pages(); the last one frees it. If someone still
    holds the first page of a non-compound block, the rest is freed now and it later."""
    if not 0 <= order <= MAX_ORDER:
        bad_page(page, f"__free_pages() of order {order} > MAX_ORDER ({MAX_ORDER})")
        return
    if page._refcount <= 0:  # put_page_testzero()'s VM_BUG_ON_PAGE
        why = (
            "the page is already free"
            if find_free_block(page.zone, page.pfn)
            else "a reserved page"
            if page.flags & PG_reserved
            else "not the first page of an allocation"
        )
        bad_page(page, f"VM_BUG_ON_PAGE(page_ref_count(page) == 0): {why}")
        return
    head = bool(page.flags & PG_head)
    page._refcount -= 1
    if page._refcount == 0:
        free_the_page(page, order)
    elif not head:
        mem_map = page.zone.zone_pgdat.node_mem_map
        while order > 0:
            order -= 1
            free_the_page(mem_map[page.pfn + (1 << order)], order)


def free_the_page(page: Page, order: int) -> None:
    if free_pages_prepare(page, order):
        __free_one_page(page, page.pfn, page.zone, order)


def free_pages_prepare(page: Page, order: int) -> bool:
    """Check every page of the block as CONFIG_DEBUG_VM does; False (after a report) keeps the
    block off the free lists."""
    zone, mem_map, n = page.zone, page.zone.zone_pgdat.node_mem_map, 1 << min(order, 63)
    if not 0 <= order <= MAX_ORDER or page.pfn & (n - 1) or page.pfn + n > zone.zone_end_pfn:
        return bad_page(page, f"freed as order {order}: not an aligned block of its zone")
    compound = bool(page.flags & PG_head)
    if compound and page.compound_order != order:
        return bad_page(page, f"compound page of order {page.compound_order} freed as {order}")
    if find_free_block(zone, page.pfn) is not None:
        return bad_page(page, "PageBuddy: the page is already free")
    for rs, re in mem_map.reserved:  # a reserved page in the block shows up below
        if rs < page.pfn + n and page.pfn < re:
            mem_map[max(rs, page.pfn)]  # noqa: B018 - creates its struct page
    tails = []
    for pfn in range(page.pfn, page.pfn + n):
        p = mem_map.get(pfn)
        if p is None:
            continue
        if compound and p is not page:
            if p.compound_head is not page:
                return bad_page(p, "compound_head not consistent")
            tails.append(p)
            continue
        reason = page_bad_reason(p)
        if reason is not None:
            return bad_page(p, reason)
    for p in tails:
        p.compound_head = None
    page.flags &= ~PG_head
    page.compound_order = page.private = 0
    page.slab_cache = page.slab = None
    return True


def page_bad_reason(page: Page) -> str | None:
    if page.flags & PG_buddy:
        return "PageBuddy: the page is already free"
    if page._mapcount != -1:
        return "nonzero mapcount"
    if page.mapping is not None:
        return "non-NULL mapping"
    if page._refcount != 0:
        return "nonzero _refcount"
    if page.flags & PAGE_FLAGS_CHECK_AT_FREE:
        return "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"
    if page.compound_head is not None:
        return "PageTail: part of a compound page"
    return None


def bad_page(page: Page, reason: str) -> bool:
    """bad_page(): report, leave the page alone. Returns False for free_pages_prepare()."""
    page.zone.zone_pgdat.kernel.bug(
        f"Bad page state in process {COMM}  pfn:{page.pfn:05x}", dump_page(page, reason)
    )
    return False


def dump_page(page: Page, reason: str) -> str:
    mapping = "00000000" if page.mapping is None else f"{id(page.mapping) & 0xFFFFFFFF:08x}"
    return (
        f"page: refcount:{page._refcount} mapcount:{page._mapcount + 1} mapping:{mapping} "
        f"index:{page.index:#x} pfn:{page.pfn:#x}\n"
        f"flags: {dump_flags(page)}\npage dumped because: {reason}"
    )


# -- the API (include/linux/gfp.h, mm.h) --------------------------------------------------------


def alloc_pages(gfp: gfp_t, order: int) -> Page | None:
    """2**order contiguous pages, the first with one reference; None on failure."""
    return __alloc_pages(gfp, order)


def alloc_page(gfp: gfp_t) -> Page | None:
    return __alloc_pages(gfp, 0)


def __get_free_pages(gfp: gfp_t, order: int) -> int:
    """The lowmem linear-map address of 2**order new pages, 0 on failure."""
    if gfp & __GFP_HIGHMEM:
        _warn_gfp(NODE_DATA(0), gfp, "__GFP_HIGHMEM pages have no address", "__get_free_pages")
        return 0
    page = __alloc_pages(gfp, order)
    return 0 if page is None else page_address(page) or 0


def __get_free_page(gfp: gfp_t) -> int:
    return __get_free_pages(gfp, 0)


def get_zeroed_page(gfp: gfp_t) -> int:
    return __get_free_pages(gfp | __GFP_ZERO, 0)


def free_pages(addr: int, order: int) -> None:
    """Free what __get_free_pages() returned (0 is ignored)."""
    if addr == 0:
        return
    if not virt_addr_valid(addr):
        current_kernel().bug(f"free_pages: VM_BUG_ON(!virt_addr_valid({addr:#010x}))")
        return
    __free_pages(virt_to_page(addr), order)


def free_page(addr: int) -> None:
    free_pages(addr, 0)


def split_page(page: Page, order: int) -> None:
    """Make each page of a non-compound block a page of its own, with one reference."""
    mem_map = page.zone.zone_pgdat.node_mem_map
    for pfn in range(page.pfn + 1, page.pfn + (1 << order)):
        mem_map[pfn]._refcount = 1


def get_order(size: int) -> int:
    """The smallest order whose block holds `size` bytes."""
    return (max(size, 1) - 1 >> PAGE_SHIFT).bit_length()


# -- struct page helpers --------------------------------------------------------------------------


def pfn_valid(pfn: int) -> bool:
    return NODE_DATA(0).pfn_valid(pfn)


def pfn_to_page(pfn: int) -> Page:
    pgdat = NODE_DATA(0)
    if not pgdat.pfn_valid(pfn):
        pgdat.kernel.bug(f"pfn_to_page: pfn {pfn:#x} has no struct page (pfn_valid() is false)")
        raise KernelBug(f"pfn_to_page({pfn:#x})")
    return pgdat.node_mem_map[pfn]


def page_to_pfn(page: Page) -> Pfn:
    return page.pfn


def page_to_phys(page: Page) -> PhysAddr:
    return PhysAddr(page.pfn << PAGE_SHIFT)


def virt_to_page(addr: int) -> Page:
    """The page of a lowmem linear-map address (a vmalloc address needs vmalloc_to_page)."""
    return pfn_to_page(virt_to_phys(addr) >> PAGE_SHIFT)


def page_address(page: Page) -> int | None:
    """The kernel address of a page: lowmem always; highmem only while kmap()ed."""
    if page.zone.is_highmem():
        return page.virtual
    lay = page.zone.zone_pgdat.kernel.layout
    return (page.pfn << PAGE_SHIFT) - lay.PHYS_OFFSET + lay.PAGE_OFFSET


def PageHighMem(page: Page) -> bool:  # noqa: N802 - Linux's name
    return page.zone.is_highmem()


def PageReserved(page: Page) -> bool:  # noqa: N802
    return bool(page.flags & PG_reserved)


def PageBuddy(page: Page) -> bool:  # noqa: N802
    return bool(page.flags & PG_buddy)


def compound_head(page: Page) -> Page:
    return page.compound_head or page


def page_count(page: Page) -> int:
    return compound_head(page)._refcount


def get_page(page: Page) -> None:
    head = compound_head(page)
    if head._refcount <= 0:
        bad_page(head, "VM_BUG_ON_PAGE(page_ref_zero_or_close_to_overflow(page))")
        return
    head._refcount += 1


def put_page(page: Page) -> None:
    """Drop a reference; the last frees the page — the whole compound page, or only this one
    page of a non-compound block (free higher-order blocks with __free_pages())."""
    head = compound_head(page)
    if head._refcount <= 0:
        bad_page(head, "VM_BUG_ON_PAGE(page_ref_count(page) == 0)")
        return
    head._refcount -= 1
    if head._refcount == 0:
        free_the_page(head, head.compound_order if head.flags & PG_head else 0)
