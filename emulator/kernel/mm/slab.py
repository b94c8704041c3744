"""SLUB, the slab allocator, and kmalloc: mm/slub.c, mm/slab_common.c, include/linux/slab.h.

A `KmemCache` hands out objects of one size; kmalloc() is a set of such caches, one per size
class, plus compound pages for anything larger (kmalloc_large). Objects live in guest RAM:
slabs are lowmem pages from alloc_pages(), an object's address is its linear-map address, and
every byte the allocator writes (poison, red zones, zeroing, krealloc's copy) is a
`kernel.mem_write`, a CPU store that lands in the data-cache model.

Size classes per architecture (include/linux/slab.h): x86-32 has kmalloc-8 .. kmalloc-8k with
-96 and -192. ARMv7 has ARCH_DMA_MINALIGN = L1_CACHE_BYTES = 64: kmalloc-64 is the smallest,
there is no kmalloc-96, and every object starts on a 64-byte boundary and spans whole 64-byte
lines, so no two objects share a cache line (what makes kmalloc memory safe for streaming
DMA). GFP_DMA uses dma-kmalloc-* when the board has a ZONE_DMA (x86 always). Above
KMALLOC_MAX_SIZE (4 MiB) the page allocator WARNs and kmalloc returns None.

Debugging (slub_debug FZPU, per cache by flags or `kernel.slub_debug` before boot), the
reports and /proc/slabinfo are in slab_debug.py.

Not modelled: per-CPU freelists beyond one CPU slab, NUMA, cache merging (as with
slab_nomerge), RCU-delayed freeing, kmalloc-cg-*/kmalloc-rcl-* caches, the kmem_cache and
kmem_cache_node caches, freelist randomisation, KASAN, KFENCE.

Deviations. Free pointers are Python lists, not words in free objects, so guest stores into
freed memory cannot crash the model; in exchange the double-free and invalid-pointer checks
are always on (SLUB without F would corrupt its freelist). SLAB_HWCACHE_ALIGN aligns to the
emulated CPU's line (`kernel.cpu.line_size`: 32 on ARM, 64 on x86) where Linux's ARMv7
builds use L1_CACHE_BYTES = 64. kfree() of a pointer kmalloc never returned is a BUG report
("kfree: invalid pointer") and is otherwise ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.kernel.core import (
    KERN_ERR,
    PAGE_SHIFT,
    PAGE_SIZE,
    Kernel,
    current_kernel,
    mm_init_hook,
    python_caller,
    virt_addr_valid,
)
from emulator.kernel.gfp import (
    __GFP_COMP,
    __GFP_DIRECT_RECLAIM,
    __GFP_DMA,
    __GFP_DMA32,
    __GFP_HIGHMEM,
    __GFP_NOFAIL,
    __GFP_NORETRY,
    __GFP_NOWARN,
    __GFP_RECLAIMABLE,
    __GFP_ZERO,
    GFP_KERNEL,
    gfp_t,
    gfpflags_allow_blocking,
)
from emulator.kernel.mm.mmzone import MAX_ORDER, PAGE_ALLOC_COSTLY_ORDER, Page, PageFlags
from emulator.kernel.mm.page_alloc import (  # imported first: its mm_init_hook runs before ours
    __free_pages,
    alloc_pages,
    get_order,
    page_address,
    pfn_to_page,
    virt_to_page,
)

# SLUB in brief (after the comment at the top of mm/slub.c):
#
#   A slab is 2^order contiguous pages cut into `objects` slots of `size` bytes; its pages'
#   structs point back at it (page.slab_cache, page.slab), which is how kfree() finds the
#   cache of any pointer. A slab is the CPU slab (allocations come from it), on the partial
#   list (some objects free), or full (on no list). Allocation pops the CPU slab's freelist,
#   LIFO, so the object freed last is handed out first; an exhausted CPU slab is replaced by
#   the head of the partial list, and only then is a new slab taken from the page allocator.
#   A free pushes the object back on its own slab's freelist; a full slab then joins the tail
#   of the partial list. A slab that becomes empty goes back to the page allocator if the
#   cache already has min_partial (5..10) partial slabs, else it stays for later allocations;
#   kmem_cache_shrink() and kmem_cache_destroy() give every empty slab back.
#
#   Slot layout (calculate_sizes()); the debugging parts exist only with their flag:
#     [left red zone][object .. right red zone][free pointer][2 tracks][orig size][padding]
#   An object's address is its slot's address + red_left_pad.

WORD = 4  # sizeof(void *)
EINVAL = 22
ZERO_SIZE_PTR = 16  # kmalloc(0): faults on any access; kfree() accepts it
KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1
KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH  # 8 KiB
KMALLOC_SHIFT_MAX = MAX_ORDER + PAGE_SHIFT
KMALLOC_MAX_SIZE = 1 << KMALLOC_SHIFT_MAX  # 4 MiB
ARCH_SLAB_MINALIGN = 8  # __alignof__(unsigned long long) on ARM EABI and i386
MAX_OBJS_PER_PAGE = 32767
MIN_PARTIAL, MAX_PARTIAL = 5, 10
NR_CPU_IDS = 1


class SlabFlags(enum.IntFlag):
    """slab_flags_t (include/linux/slab.h), with the values of the `unsigned long` era."""

    SLAB_CONSISTENCY_CHECKS = 0x0000_0100  # F: check objects on alloc and free
    SLAB_RED_ZONE = 0x0000_0400  # Z: red zones around objects
    SLAB_POISON = 0x0000_0800  # P: poison free objects
    SLAB_KMALLOC = 0x0000_1000  # internal: a kmalloc cache
    SLAB_HWCACHE_ALIGN = 0x0000_2000  # align objects to a cache line
    SLAB_CACHE_DMA = 0x0000_4000  # slabs from ZONE_DMA
    SLAB_CACHE_DMA32 = 0x0000_8000  # slabs from ZONE_DMA32
    SLAB_STORE_USER = 0x0001_0000  # U: remember who allocated and freed each object
    SLAB_RECLAIM_ACCOUNT = 0x0002_0000  # slabs are __GFP_RECLAIMABLE
    SLAB_PANIC = 0x0004_0000  # panic if kmem_cache_create() fails
    SLAB_TYPESAFE_BY_RCU = 0x0008_0000  # objects may be read after free: never poisoned
    SLAB_TRACE = 0x0020_0000  # T: log every alloc and free
    SLAB_NOLEAKTRACE = 0x0080_0000  # kmemleak ignores the objects (accepted, no effect)
    SLAB_ACCOUNT = 0x0400_0000  # memcg accounting (accepted, no effect)
    OBJECT_POISON = 0x8000_0000  # internal __OBJECT_POISON: the object itself is poisoned


SLAB_CONSISTENCY_CHECKS = SlabFlags.SLAB_CONSISTENCY_CHECKS
SLAB_RED_ZONE = SlabFlags.SLAB_RED_ZONE
SLAB_POISON = SlabFlags.SLAB_POISON
SLAB_KMALLOC = SlabFlags.SLAB_KMALLOC
SLAB_HWCACHE_ALIGN = SlabFlags.SLAB_HWCACHE_ALIGN
SLAB_CACHE_DMA = SlabFlags.SLAB_CACHE_DMA
SLAB_CACHE_DMA32 = SlabFlags.SLAB_CACHE_DMA32
SLAB_STORE_USER = SlabFlags.SLAB_STORE_USER
SLAB_RECLAIM_ACCOUNT = SlabFlags.SLAB_RECLAIM_ACCOUNT
SLAB_PANIC = SlabFlags.SLAB_PANIC
SLAB_TYPESAFE_BY_RCU = SlabFlags.SLAB_TYPESAFE_BY_RCU
SLAB_TRACE = SlabFlags.SLAB_TRACE
SLAB_NOLEAKTRACE = SlabFlags.SLAB_NOLEAKTRACE
SLAB_ACCOUNT = SlabFlags.SLAB_ACCOUNT
OBJECT_POISON = SlabFlags.OBJECT_POISON
DEBUG_DEFAULT_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
SLAB_DEBUG_FLAGS = DEBUG_DEFAULT_FLAGS | SLAB_TRACE
SLAB_FLAGS_PERMITTED = SlabFlags(sum(SlabFlags) & ~(SLAB_KMALLOC | OBJECT_POISON))
GFP_SLAB_BUG_MASK = __GFP_DMA32 | __GFP_HIGHMEM


@dataclass(eq=False)
class Track:
    """struct track: who last allocated or freed an object, and when (in jiffies)."""

    addr: str  # the Python caller (Linux: the return address, printed with %pS)
    when: int
    cpu: int = 0
    pid: int = 0


@dataclass(eq=False)
class Slab:
    """struct slab: one slab of a cache (the slab fields of its head struct page)."""

    cache: KmemCache
    page: Page
    order: int
    base: int  # page_address(page): the first slot
    objects: int
    freelist: list[int] = field(default_factory=list)  # free slot indexes, next one last
    free: set[int] = field(default_factory=set)
    alloc_track: dict[int, Track] = field(default_factory=dict)
    free_track: dict[int, Track] = field(default_factory=dict)
    orig_size: dict[int, int] = field(default_factory=dict)  # kmalloc's requested size

    @property
    def inuse(self) -> int:
        return self.objects - len(self.freelist)

    def obj(self, index: int) -> int:
        return self.base + index * self.cache.size + self.cache.red_left_pad

    def index(self, obj: int) -> int:
        return (obj - self.cache.red_left_pad - self.base) // self.cache.size


@dataclass(eq=False)
class KmemCache:
    """struct kmem_cache. The geometry is filled in by calculate_sizes() at creation."""

    name: str
    object_size: int  # what the user asked for
    align: int
    flags: SlabFlags
    ctor: Callable[[int], None] | None = None
    size: int = 0  # the slot: object plus debugging metadata, aligned
    inuse: int = 0  # object plus right red zone: where the metadata starts
    offset: int = 0  # where SLUB would keep the free pointer
    red_left_pad: int = 0
    order: int = 0
    objects: int = 0  # per slab
    min_order: int = 0  # fallback when the page allocator cannot give `order`
    min_partial: int = MIN_PARTIAL
    allocflags: gfp_t = 0
    refcount: int = 1
    slabs: list[Slab] = field(default_factory=list)
    partial: list[Slab] = field(default_factory=list)
    cpu_slab: Slab | None = None

    def __repr__(self) -> str:
        return f"<KmemCache {self.name}: object_size {self.object_size}, size {self.size}>"


class KmallocType(enum.IntEnum):
    KMALLOC_NORMAL = 0
    KMALLOC_DMA = 1


@dataclass(eq=False)
class SlabState:
    """The allocator's globals: slab_caches, kmalloc_caches[][], size_index[], slub_debug."""

    kernel: Kernel
    kmalloc_min_size: int  # KMALLOC_MIN_SIZE = ARCH_KMALLOC_MINALIGN
    has_zone_dma: bool
    slub_debug: SlabFlags = SlabFlags(0)
    slub_debug_slabs: str = ""  # slub_debug=<flags>,<cache name prefix>
    slab_caches: list[KmemCache] = field(default_factory=list)  # in creation order
    kmalloc_caches: dict[tuple[KmallocType, int], KmemCache] = field(default_factory=dict)
    size_index: list[int] = field(default_factory=list)
    large: dict[int, tuple[Page, int]] = field(default_factory=dict)  # kmalloc_large: order
    tainted: bool = False  # TAINT_BAD_PAGE, from the first slab report on
    errors: int = 0  # slab reports so far
    pending_bug: str | None = None  # a report's title, raised at its end on a strict kernel


def _align(x: int, a: int) -> int:
    return (x + a - 1) & ~(a - 1)


def slab_state(k: Kernel | None = None) -> SlabState:
    k = k or current_kernel()
    st = k.subsystems.get("slab")
    if st is None:  # the kernel booted before this module was imported
        kmem_cache_init(k)
        st = k.subsystems["slab"]
    assert isinstance(st, SlabState)
    return st


# -- geometry (mm/slub.c calculate_sizes, calculate_order; mm/slab_common.c) --------------------


def order_objects(order: int, size: int) -> int:
    return (PAGE_SIZE << order) // size


def calc_slab_order(size: int, min_objects: int, max_order: int, fract_leftover: int) -> int:
    if order_objects(0, size) > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE) - 1
    order = get_order(min_objects * size)
    while (
        order <= max_order and (PAGE_SIZE << order) % size > (PAGE_SIZE << order) // fract_leftover
    ):
        order += 1
    return order


def calculate_order(size: int) -> int:
    """The smallest order that wastes little and holds 4 * (fls(nr_cpu_ids) + 1) objects."""
    min_objects = min(
        4 * (NR_CPU_IDS.bit_length() + 1), order_objects(PAGE_ALLOC_COSTLY_ORDER, size)
    )
    while min_objects > 1:
        for fraction in (16, 8, 4):
            order = calc_slab_order(size, min_objects, PAGE_ALLOC_COSTLY_ORDER, fraction)
            if order <= PAGE_ALLOC_COSTLY_ORDER:
                return order
        min_objects -= 1
    order = calc_slab_order(size, 1, PAGE_ALLOC_COSTLY_ORDER, 1)
    return order if order <= PAGE_ALLOC_COSTLY_ORDER else calc_slab_order(size, 1, MAX_ORDER, 1)


def slub_debug_orig_size(s: KmemCache) -> bool:
    """kmalloc caches with owner tracking remember the requested size (kmalloc red zone)."""
    return bool(s.flags & SLAB_STORE_USER and s.flags & SLAB_KMALLOC)


def calculate_sizes(s: KmemCache) -> None:
    flags = s.flags
    size = _align(s.object_size, WORD)
    if flags & SLAB_POISON and not flags & SLAB_TYPESAFE_BY_RCU and s.ctor is None:
        s.flags |= OBJECT_POISON
    if flags & SLAB_RED_ZONE and size == s.object_size:
        size += WORD  # room for a right red zone
    s.inuse = size
    if (
        flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON)
        or s.ctor is not None
        or (flags & SLAB_RED_ZONE and (s.object_size < WORD or slub_debug_orig_size(s)))
    ):
        s.offset = size  # the free pointer may not overlay the object
        size += WORD
    else:
        s.offset = (s.object_size // 2) & ~(WORD - 1)
    if flags & SLAB_STORE_USER:
        size += 2 * slab_debug.TRACK_SIZE + (4 if flags & SLAB_KMALLOC else 0)
    if flags & SLAB_RED_ZONE:
        s.red_left_pad = _align(WORD, s.align)
        size += WORD + s.red_left_pad  # a word that catches writes before the next object
    s.size = _align(size, s.align)
    s.order = calculate_order(s.size)
    s.objects = order_objects(s.order, s.size)
    s.min_order = get_order(s.size)
    s.allocflags = __GFP_COMP if s.order else 0
    for flag, gfp in (
        (SLAB_CACHE_DMA, __GFP_DMA),
        (SLAB_CACHE_DMA32, __GFP_DMA32),
        (SLAB_RECLAIM_ACCOUNT, __GFP_RECLAIMABLE),
    ):
        if flags & flag:
            s.allocflags |= gfp
    s.min_partial = min(MAX_PARTIAL, max(MIN_PARTIAL, (s.size.bit_length() - 1) // 2))


def calculate_alignment(flags: int, align: int, size: int) -> int:
    """SLAB_HWCACHE_ALIGN: a cache line, halved while the object still fits twice."""
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = current_kernel().cpu.line_size
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    return _align(max(align, ARCH_SLAB_MINALIGN), WORD)


def kmem_cache_debug(s: KmemCache) -> bool:
    return bool(s.flags & SLAB_DEBUG_FLAGS)


def _create_cache(
    st: SlabState, name: str, size: int, align: int, flags: int, ctor: Callable[[int], None] | None
) -> KmemCache:
    """create_cache(): slub_debug applies to the caches whose name it selects."""
    if st.slub_debug and name.startswith(st.slub_debug_slabs):
        flags |= st.slub_debug
    s = KmemCache(name, size, align, SlabFlags(flags), ctor)
    calculate_sizes(s)
    st.slab_caches.append(s)
    return s


# -- kmem_cache_create, _destroy, _shrink (mm/slab_common.c) ------------------------------------


def kmem_cache_create(
    name: str,
    size: int,
    align: int = 0,
    flags: int = 0,
    ctor: Callable[[int], None] | None = None,
) -> KmemCache | None:
    """mm/slab_common.c kmem_cache_create(): a cache of `size`-byte objects, or None.

    `ctor(obj)` runs once per object when its slab is created, as in Linux, so objects must
    go back to the cache in their constructed state."""
    k = current_kernel()
    st = slab_state(k)
    k.context.might_sleep("kmem_cache_create (mm/slab_common.c)")  # mutex_lock(&slab_mutex)
    err = 0
    if not name or k.context.in_interrupt() or not 0 < size <= KMALLOC_MAX_SIZE:
        k.printk(KERN_ERR, f"kmem_cache_create({name}) integrity check failed")
        err = -EINVAL
    elif flags & ~SLAB_FLAGS_PERMITTED:
        err = -EINVAL
    if err:
        slab_debug.kmem_cache_create_failed(name, flags & SLAB_PANIC, err)  # may panic
        return None
    if any(c.name == name for c in st.slab_caches):
        k.warn(f"kmem_cache of name '{name}' already exists")
    if " " in name:
        k.warn(f"kmem_cache name '{name}' has a space: it confuses parsers of /proc/slabinfo")
    return _create_cache(st, name, size, calculate_alignment(flags, align, size), flags, ctor)


def kmem_cache_destroy(s: KmemCache | None) -> None:
    """Destroy a cache. With objects still allocated the cache is reported and kept."""
    if s is None:
        return
    k = current_kernel()
    st = slab_state(k)
    k.context.might_sleep("kmem_cache_destroy (mm/slab_common.c)")
    s.refcount -= 1
    if s.refcount:
        return
    __kmem_cache_shrink(s)
    if not s.slabs:
        st.slab_caches.remove(s)
        return
    for slab in s.slabs:  # __kmem_cache_shutdown()
        slab_debug.list_slab_objects(
            s, slab, f"Objects remaining in {s.name} on __kmem_cache_shutdown()"
        )
    s.refcount += 1
    title = f"kmem_cache_destroy {s.name}: Slab cache still has objects"
    k.printk(KERN_ERR, f"{title}\n  caller: {python_caller()}")
    st.pending_bug = st.pending_bug or title
    slab_debug.raise_if_strict(st)


def __kmem_cache_shrink(s: KmemCache) -> None:
    flush_slab(s, keep_empty=False)
    for slab in [sl for sl in s.partial if sl.inuse == 0]:
        s.partial.remove(slab)
        discard_slab(s, slab)


def kmem_cache_shrink(s: KmemCache) -> int:
    """Give every empty slab back to the page allocator (after flushing the CPU slab)."""
    __kmem_cache_shrink(s)
    slab_debug.raise_if_strict(slab_state())
    return 0


def kmem_cache_size(s: KmemCache) -> int:
    return s.object_size


def flush_slab(s: KmemCache, keep_empty: bool = True) -> None:
    """deactivate_slab(): the CPU slab joins the partial list (or goes, when empty)."""
    slab, s.cpu_slab = s.cpu_slab, None
    if slab is None:
        return
    if slab.inuse == 0 and (not keep_empty or len(s.partial) >= s.min_partial):
        discard_slab(s, slab)
    elif slab.freelist:
        s.partial.insert(0, slab)


# -- slabs (mm/slub.c allocate_slab, new_slab, __free_slab) -------------------------------------


def _pages(page: Page, order: int) -> list[Page]:
    return [pfn_to_page(page.pfn + i) for i in range(1 << order)]


def new_slab(s: KmemCache, gfp: gfp_t) -> Slab | None:
    """A slab for `s`: the cache's order, falling back to the smallest order that fits."""
    if gfp & GFP_SLAB_BUG_MASK:
        gfp = slab_debug.kmalloc_fix_flags(gfp)
    gfp = (gfp & ~(__GFP_ZERO | __GFP_DMA | __GFP_COMP)) | s.allocflags
    order = s.order
    page = alloc_pages((gfp | __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_NOFAIL, order)
    if page is None:  # retry at the smallest order, and let the page allocator warn
        order = s.min_order
        page = alloc_pages((gfp & ~__GFP_COMP) | (__GFP_COMP if order else 0), order)
    if page is None:
        return None
    base = page_address(page)
    assert base is not None, "slab pages are lowmem"
    objects = order_objects(order, s.size)
    slab = Slab(
        s, page, order, base, objects, list(range(objects - 1, -1, -1)), set(range(objects))
    )
    for p in _pages(page, order):
        p.slab_cache, p.slab = s, slab
    page.flags |= int(PageFlags.PG_slab)
    if kmem_cache_debug(s):
        slab_debug.setup_slab_debug(s, slab)
    if s.ctor is not None:
        for i in range(objects):
            s.ctor(slab.obj(i))
    s.slabs.append(slab)
    return slab


def discard_slab(s: KmemCache, slab: Slab) -> None:
    if s.flags & SLAB_CONSISTENCY_CHECKS:
        slab_debug.check_slab_before_free(s, slab)
    s.slabs.remove(slab)
    for p in _pages(slab.page, slab.order):
        p.slab_cache, p.slab = None, None
    slab.page.flags &= ~int(PageFlags.PG_slab)
    __free_pages(slab.page, slab.order)


# -- allocation and free (mm/slub.c slab_alloc_node, ___slab_alloc, __slab_free) ----------------


def _get_slab(s: KmemCache, gfp: gfp_t) -> Slab | None:
    """The CPU slab, else the first partial slab, else a new slab."""
    if s.cpu_slab is not None and s.cpu_slab.freelist:
        return s.cpu_slab
    if s.partial:
        s.cpu_slab = s.partial.pop(0)
        return s.cpu_slab
    if gfpflags_allow_blocking(gfp) and current_kernel().context.in_atomic():
        gfp &= ~__GFP_DIRECT_RECLAIM  # slab_pre_alloc_hook has reported the sleep already
    slab = new_slab(s, gfp)
    if slab is not None:
        s.cpu_slab = slab
    return slab


def slab_alloc(s: KmemCache, gfp: gfp_t, orig_size: int, api: str) -> int | None:
    k = current_kernel()
    if gfpflags_allow_blocking(gfp):
        k.context.might_sleep(f"{api} (mm/slab.h)")  # slab_pre_alloc_hook()
    caller = python_caller()
    while True:
        slab = _get_slab(s, gfp)
        if slab is None:
            slab_debug.slab_out_of_memory(s, gfp)
            return None
        index = slab.freelist.pop()
        slab.free.discard(index)
        obj = slab.obj(index)
        if not kmem_cache_debug(s) or slab_debug.alloc_debug_processing(s, slab, obj, orig_size):
            break  # (a failed check marked the whole slab used: take the next one)
    if slub_debug_orig_size(s):
        slab.orig_size[index] = orig_size
    if s.flags & SLAB_STORE_USER:
        slab.alloc_track[index] = Track(caller, slab_debug.jiffies(k))
    slab_debug.trace(s, slab, obj, True)
    if gfp & __GFP_ZERO:  # kmalloc red zones stay: only the requested size is cleared
        kmalloc_rz = s.flags & SLAB_RED_ZONE and s.flags & SLAB_KMALLOC
        k.mem_write(obj, bytes(orig_size if kmalloc_rz else s.object_size))
    slab_debug.raise_if_strict(slab_state(k))
    return obj


def slab_free(s: KmemCache, slab: Slab, obj: int) -> None:
    if slab_debug.free_debug_processing(s, slab, obj, python_caller()):
        slab_debug.trace(s, slab, obj, False)
        index = slab.index(obj)
        was_full = not slab.freelist
        slab.freelist.append(index)
        slab.free.add(index)
        if slab is s.cpu_slab:
            pass
        elif slab.inuse == 0 and len(s.partial) >= s.min_partial:
            if slab in s.partial:
                s.partial.remove(slab)
            discard_slab(s, slab)
        elif was_full:
            s.partial.append(slab)
    slab_debug.raise_if_strict(slab_state())


def kmem_cache_alloc(s: KmemCache, gfp: gfp_t) -> int | None:
    """An object of the cache: its kernel virtual address, or None."""
    return slab_alloc(s, gfp, s.object_size, "kmem_cache_alloc")


def kmem_cache_zalloc(s: KmemCache, gfp: gfp_t) -> int | None:
    return slab_alloc(s, gfp | __GFP_ZERO, s.object_size, "kmem_cache_zalloc")


def virt_to_slab(obj: int) -> Slab | None:
    """The slab holding address `obj`, or None."""
    if not virt_addr_valid(obj):
        return None
    slab = virt_to_page(obj).slab
    return slab if isinstance(slab, Slab) else None


def virt_to_cache(obj: int) -> KmemCache | None:
    """mm/slab.h virt_to_cache(): the cache an object belongs to."""
    slab = virt_to_slab(obj)
    return slab.cache if slab is not None else None


def kmem_cache_free(s: KmemCache, obj: int | None) -> None:
    """Give an object back. A pointer outside any slab or from another cache is reported."""
    if obj is None:
        return
    k = current_kernel()
    slab = virt_to_slab(obj)
    if slab is None:
        k.warn(f"virt_to_cache: Object is not a Slab page!\nkmem_cache_free({s.name}, {obj:#010x})")
        return
    if slab.cache is not s:
        k.warn(f"cache_from_obj: Wrong slab cache. {s.name} but object is from {slab.cache.name}")
        slab_debug.print_tracking(slab.cache, slab, obj)
    slab_free(slab.cache, slab, obj)


def validate_slab_cache(s: KmemCache) -> int:
    """Check every object of a cache, as writing 1 to /sys/kernel/slab/<cache>/validate does
    (red zones, poison, padding), reporting each problem. Returns the number of reports."""
    return slab_debug.validate_slab_cache(s)


kmem_cache_validate = validate_slab_cache


def slabinfo() -> str:
    """/proc/slabinfo, format 2.1 (rendered by slab_debug.slabinfo_show)."""
    return slab_debug.slabinfo_show(slab_state())


# -- kmalloc (mm/slab_common.c) -----------------------------------------------------------------


def kmalloc_size(index: int) -> int:
    return {1: 96, 2: 192}.get(index, 1 << index)


def setup_kmalloc_cache_index_table(st: SlabState) -> None:
    """size_index[(size - 1) // 8] chooses the cache for sizes up to 192."""
    st.size_index = [3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7] + [2] * 8
    for i in range(8, st.kmalloc_min_size, 8):
        st.size_index[(i - 1) // 8] = st.kmalloc_min_size.bit_length() - 1
    if st.kmalloc_min_size >= 64:  # no kmalloc-96 with 64-byte alignment
        for i in range(72, 97, 8):
            st.size_index[(i - 1) // 8] = 7
    if st.kmalloc_min_size >= 128:
        for i in range(136, 193, 8):
            st.size_index[(i - 1) // 8] = 8


def create_kmalloc_cache(st: SlabState, kind: KmallocType, index: int) -> None:
    """create_boot_cache(): kmalloc objects are aligned to ARCH_KMALLOC_MINALIGN and to the
    largest power of two dividing their size."""
    size = kmalloc_size(index)
    prefix, flags = ("dma-", SLAB_CACHE_DMA) if kind == KmallocType.KMALLOC_DMA else ("", 0)
    name = f"{prefix}kmalloc-{size // 1024}k" if size >= 1024 else f"{prefix}kmalloc-{size}"
    align = calculate_alignment(flags, max(st.kmalloc_min_size, size & -size), size)
    st.kmalloc_caches[(kind, index)] = _create_cache(
        st, name, size, align, flags | SLAB_KMALLOC, None
    )


def create_kmalloc_caches(st: SlabState) -> None:
    setup_kmalloc_cache_index_table(st)
    shift_low = st.kmalloc_min_size.bit_length() - 1
    for i in range(shift_low, KMALLOC_SHIFT_HIGH + 1):
        create_kmalloc_cache(st, KmallocType.KMALLOC_NORMAL, i)
        if st.kmalloc_min_size <= 32 and i == 6:  # the non-power-of-two caches come right
            create_kmalloc_cache(st, KmallocType.KMALLOC_NORMAL, 1)  # after the one below them
        if st.kmalloc_min_size <= 64 and i == 7:
            create_kmalloc_cache(st, KmallocType.KMALLOC_NORMAL, 2)
    if st.has_zone_dma:  # CONFIG_ZONE_DMA: dma-kmalloc-*, created in index order
        for _kind, i in sorted(st.kmalloc_caches):
            create_kmalloc_cache(st, KmallocType.KMALLOC_DMA, i)


def kmalloc_slab(size: int, gfp: gfp_t = GFP_KERNEL) -> KmemCache | None:
    """The kmalloc cache that serves `size` bytes (None for 0 and for kmalloc_large sizes)."""
    if not 0 < size <= KMALLOC_MAX_CACHE_SIZE:
        return None
    st = slab_state()
    index = st.size_index[(size - 1) // 8] if size <= 192 else (size - 1).bit_length()
    kind = (
        KmallocType.KMALLOC_DMA
        if gfp & __GFP_DMA and st.has_zone_dma
        else KmallocType.KMALLOC_NORMAL
    )
    return st.kmalloc_caches[(kind, index)]


def kmalloc_large(size: int, gfp: gfp_t) -> int | None:
    """Compound pages straight from the page allocator (which WARNs above MAX_ORDER)."""
    if gfp & GFP_SLAB_BUG_MASK:
        gfp = slab_debug.kmalloc_fix_flags(gfp)
    order = get_order(size)
    page = alloc_pages(gfp | __GFP_COMP, order)
    if page is None:
        return None
    va = page_address(page)
    assert va is not None, "kmalloc_large pages are lowmem"
    slab_state().large[va] = (page, order)
    return va


def __kmalloc(size: int, gfp: gfp_t, api: str) -> int | None:
    size &= 0xFFFF_FFFF  # size_t: a negative size is a huge one
    if size > KMALLOC_MAX_CACHE_SIZE:
        return kmalloc_large(size, gfp)
    s = kmalloc_slab(size, gfp)
    return ZERO_SIZE_PTR if s is None else slab_alloc(s, gfp, size, api)


def kmalloc(size: int, gfp: gfp_t) -> int | None:
    """`size` bytes of physically contiguous lowmem: the kernel virtual address,
    ZERO_SIZE_PTR for 0 bytes, None on failure."""
    return __kmalloc(size, gfp, "kmalloc")


def kzalloc(size: int, gfp: gfp_t) -> int | None:
    return __kmalloc(size, gfp | __GFP_ZERO, "kzalloc")


def kmalloc_array(n: int, size: int, gfp: gfp_t) -> int | None:
    """n * size bytes, or None if the product overflows size_t."""
    if n < 0 or size < 0 or n * size > 0xFFFF_FFFF:
        return None
    return __kmalloc(n * size, gfp, "kmalloc_array")


def kcalloc(n: int, size: int, gfp: gfp_t) -> int | None:
    return kmalloc_array(n, size, gfp | __GFP_ZERO)


def _kmalloc_object(p: int, api: str) -> tuple[Slab | None, int]:
    """(slab, 0) for a slab object, (None, order) for a kmalloc_large buffer; anything else
    is reported as an invalid pointer and gives (None, -1)."""
    k = current_kernel()
    slab = virt_to_slab(p)
    if slab is not None:
        return slab, 0
    st = slab_state(k)
    if p in st.large:
        return None, st.large[p][1]
    slab_debug.report_invalid_pointer(st, p, api)
    return None, -1


def kfree(p: int | None) -> None:
    """Free kmalloc memory. None and ZERO_SIZE_PTR are fine."""
    if p is None or p <= ZERO_SIZE_PTR:
        return
    slab, order = _kmalloc_object(p, "kfree")
    if slab is not None:
        slab_free(slab.cache, slab, p)
    elif order >= 0:
        page, order = slab_state().large.pop(p)
        __free_pages(page, order)


def slab_ksize(s: KmemCache) -> int:
    if s.flags & (SLAB_RED_ZONE | SLAB_POISON):
        return s.object_size
    if s.flags & (SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER):
        return s.inuse
    return s.size


def ksize(p: int | None) -> int:
    """The usable size of a kmalloc'd object. The caller may use all of it, so its kmalloc
    red zone check is switched off (skip_orig_size_check)."""
    if p is None or p <= ZERO_SIZE_PTR:
        return 0
    slab, order = _kmalloc_object(p, "ksize")
    if slab is None:
        return PAGE_SIZE << order if order >= 0 else 0
    if slub_debug_orig_size(slab.cache):
        slab.orig_size[slab.index(p)] = slab.cache.object_size
    return slab_ksize(slab.cache)


def __do_krealloc(p: int, new_size: int, gfp: gfp_t) -> int | None:
    k = current_kernel()
    slab, order = _kmalloc_object(p, "krealloc")
    if slab is None and order < 0:
        return None
    ks = orig_size = slab.cache.object_size if slab is not None else PAGE_SIZE << order
    tracked = slab is not None and slub_debug_orig_size(slab.cache)
    if slab is not None and tracked:
        orig_size = slab.orig_size.get(slab.index(p), ks)
    if new_size > ks:
        ret = __kmalloc(new_size, gfp, "krealloc")
        if ret is not None:
            k.mem_write(ret, k.mem_read(p, orig_size))
        return ret
    if gfp & __GFP_ZERO:  # it still fits: clear what is new, or what is cut off
        if orig_size < new_size:
            k.mem_write(p + orig_size, bytes(new_size - orig_size))
        else:
            k.mem_write(p + new_size, bytes(ks - new_size))
    if slab is not None and tracked:  # move the kmalloc red zone
        slab.orig_size[slab.index(p)] = new_size
        if slab.cache.flags & SLAB_RED_ZONE and new_size < ks:
            k.mem_write(p + new_size, bytes([slab_debug.SLUB_RED_ACTIVE]) * (ks - new_size))
    return p


def krealloc(p: int | None, new_size: int, gfp: gfp_t) -> int | None:
    """Resize a kmalloc'd buffer, keeping its contents (copied through kernel memory when it
    moves). krealloc(None, n) is kmalloc(n); krealloc(p, 0) frees p and returns
    ZERO_SIZE_PTR; on failure p stays allocated and None is returned."""
    if new_size == 0:
        kfree(p)
        return ZERO_SIZE_PTR
    if p is None or p <= ZERO_SIZE_PTR:
        return __kmalloc(new_size, gfp, "krealloc")
    ret = __do_krealloc(p, new_size, gfp)
    if ret is not None and ret != p:
        kfree(p)
    return ret


# -- boot ---------------------------------------------------------------------------------------


@mm_init_hook
def kmem_cache_init(k: Kernel) -> None:
    """kmem_cache_init() and create_kmalloc_caches(), once the page allocator is up."""
    minalign = 64 if k.machine.board.arch == "armv7" else 8  # ARCH_DMA_MINALIGN, or u64's
    st = SlabState(k, minalign, any(z.name == "DMA" for z in k.layout.zones))
    k.subsystems["slab"] = st
    slab_debug.setup_slub_debug(st, getattr(k, "slub_debug", False))
    create_kmalloc_caches(st)


# The debugging half uses the names above; imported last to keep the import cycle benign.
from emulator.kernel.mm import slab_debug  # noqa: E402
