"""Memory pools: mm/mempool.c, include/linux/mempool.h.

A mempool keeps `min_nr` pre-allocated elements in reserve so that an allocation on a
memory-reclaim path (block I/O, writeback) can always make progress. The element allocator is
the pool's own `alloc_fn(gfp, pool_data)` / `free_fn(element, pool_data)` pair; the helpers
build kmalloc, slab-cache and page pools.

mempool_alloc() follows Linux's order exactly: first `alloc_fn` with
__GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN and without direct reclaim or I/O; if that
fails, an element from the reserve; if the reserve is empty, `alloc_fn` once more with the
caller's full flags; then an atomic caller gets None and a sleeping caller would wait in
io_schedule_timeout() for someone to mempool_free() an element. Nothing runs concurrently
in the model, so that wait could never end: it is reported as a BUG ("mempool_alloc would
sleep forever: reserve exhausted") and None is returned. mempool_free() refills the reserve
while it is below `min_nr` and hands the rest to `free_fn`.

Beyond Linux: the pool counts the elements mempool_alloc() handed out and mempool_free() has
not taken back, and mempool_destroy() reports outstanding ones as a BUG (Linux before 4.x
could only see `curr_nr != min_nr`).

Not modelled: waiters and wake-ups (see above), __GFP_ZERO (warned, as VM_WARN_ON_ONCE
does, and passed through), KASAN poisoning of reserved elements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from emulator.kernel.core import current_kernel, python_caller
from emulator.kernel.gfp import (
    __GFP_DIRECT_RECLAIM,
    __GFP_IO,
    __GFP_NOMEMALLOC,
    __GFP_NORETRY,
    __GFP_NOWARN,
    __GFP_ZERO,
    GFP_KERNEL,
    gfpflags_allow_blocking,
)
from emulator.kernel.mm.page_alloc import Page, __free_pages, alloc_pages
from emulator.kernel.mm.slab import KmemCache, kfree, kmalloc, kmem_cache_alloc, kmem_cache_free

T = TypeVar("T")

ENOMEM, EINVAL = 12, 22


@dataclass(eq=False)
class Mempool(Generic[T]):
    """mempool_t. `elements` is the reserve (used as a stack, as Linux's array is)."""

    min_nr: int
    alloc: Callable[[int, Any], T | None]
    free: Callable[[T, Any], None]
    pool_data: Any
    caller: str
    elements: list[T] = field(default_factory=list)
    outstanding: int = 0  # handed out by mempool_alloc and not yet mempool_free'd

    @property
    def curr_nr(self) -> int:
        return len(self.elements)


def mempool_create(
    min_nr: int,
    alloc_fn: Callable[[int, Any], T | None],
    free_fn: Callable[[T, Any], None],
    pool_data: Any,
) -> Mempool[T] | None:
    """mempool_create(): a pool pre-filled with `min_nr` elements from `alloc_fn(GFP_KERNEL,
    pool_data)`; None (everything given back) if the pre-fill fails."""
    k = current_kernel()
    k.context.might_sleep("mempool_create (mm/mempool.c)")
    if min_nr < 0:
        return None
    pool: Mempool[T] = Mempool(min_nr, alloc_fn, free_fn, pool_data, python_caller())
    while pool.curr_nr < min_nr:
        element = alloc_fn(GFP_KERNEL, pool_data)
        if element is None:
            _free_reserve(pool)
            return None
        pool.elements.append(element)
    return pool


def _free_reserve(pool: Mempool[T]) -> None:
    while pool.elements:
        pool.free(pool.elements.pop(), pool.pool_data)


def mempool_alloc(pool: Mempool[T], gfp: int) -> T | None:
    """mempool_alloc(): an element from `alloc_fn`, else from the reserve (see the module
    docstring for the exact order). Never None for a sleeping caller on Linux."""
    k = current_kernel()
    if gfp & __GFP_ZERO:
        k.warn("VM_WARN_ON_ONCE(gfp_mask & __GFP_ZERO) in mempool_alloc (mm/mempool.c)")
    if gfpflags_allow_blocking(gfp):
        k.context.might_sleep("mempool_alloc (mm/mempool.c)")
    gfp |= __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN
    gfp_temp = gfp & ~(__GFP_DIRECT_RECLAIM | __GFP_IO)
    while True:
        element = pool.alloc(gfp_temp, pool.pool_data)
        if element is not None:
            pool.outstanding += 1
            return element
        if pool.elements:
            pool.outstanding += 1
            return pool.elements.pop()
        if gfp_temp != gfp:
            gfp_temp = gfp  # the first pass ran without reclaim: retry at once with it
            continue
        if not gfp & __GFP_DIRECT_RECLAIM:
            return None
        k.bug(
            "mempool_alloc would sleep forever: reserve exhausted",
            f"pool created at {pool.caller}: min_nr={pool.min_nr}, curr_nr=0, "
            f"{pool.outstanding} element(s) held by callers; nothing can mempool_free() "
            "one while this caller waits",
        )
        return None


def mempool_free(element: T | None, pool: Mempool[T]) -> None:
    """mempool_free(): refill the reserve if it is below min_nr, else `free_fn`."""
    if element is None:
        return
    if pool.outstanding > 0:
        pool.outstanding -= 1
    if pool.curr_nr < pool.min_nr:
        pool.elements.append(element)
        return
    pool.free(element, pool.pool_data)


def mempool_destroy(pool: Mempool[T] | None) -> None:
    """mempool_destroy(): free the reserve. Elements still held by callers are a BUG."""
    if pool is None:
        return
    if pool.outstanding:
        current_kernel().bug(
            f"kernel BUG at mm/mempool.c: mempool_destroy() with {pool.outstanding} "
            "element(s) still allocated from the pool",
            f"pool created at {pool.caller}: min_nr={pool.min_nr}, curr_nr={pool.curr_nr}",
        )
    _free_reserve(pool)


def mempool_resize(pool: Mempool[T], new_min_nr: int) -> int:
    """mempool_resize(): change min_nr; shrinking frees reserve elements, growing allocates
    with GFP_KERNEL (a failure there still returns 0, with the reserve short, as Linux)."""
    k = current_kernel()
    k.context.might_sleep("mempool_resize (mm/mempool.c)")
    if new_min_nr <= 0:
        k.bug(f"kernel BUG at mm/mempool.c: mempool_resize() to {new_min_nr} elements")
        return -EINVAL
    if new_min_nr <= pool.min_nr:
        while pool.curr_nr > new_min_nr:
            pool.free(pool.elements.pop(), pool.pool_data)
        pool.min_nr = new_min_nr
        return 0
    pool.min_nr = new_min_nr
    while pool.curr_nr < pool.min_nr:
        element = pool.alloc(GFP_KERNEL, pool.pool_data)
        if element is None:
            break
        pool.elements.append(element)
    return 0


# -- the standard element allocators ---------------------------------------------------------


def mempool_kmalloc(gfp: int, size: int) -> int | None:
    return kmalloc(size, gfp)


def mempool_kfree(element: int, size: int) -> None:
    kfree(element)


def mempool_alloc_slab(gfp: int, cache: KmemCache) -> int | None:
    return kmem_cache_alloc(cache, gfp)


def mempool_free_slab(element: int, cache: KmemCache) -> None:
    kmem_cache_free(cache, element)


def mempool_alloc_pages(gfp: int, order: int) -> Page | None:
    return alloc_pages(gfp, order)


def mempool_free_pages(element: Page, order: int) -> None:
    __free_pages(element, order)


def mempool_create_kmalloc_pool(min_nr: int, size: int) -> Mempool[int] | None:
    """mempool_create_kmalloc_pool(): a pool of kmalloc(size) buffers."""
    return mempool_create(min_nr, mempool_kmalloc, mempool_kfree, size)


def mempool_create_slab_pool(min_nr: int, cache: KmemCache) -> Mempool[int] | None:
    """mempool_create_slab_pool(): a pool of objects of a kmem_cache."""
    return mempool_create(min_nr, mempool_alloc_slab, mempool_free_slab, cache)


def mempool_create_page_pool(min_nr: int, order: int) -> Mempool[Page] | None:
    """mempool_create_page_pool(): a pool of 2^order-page blocks."""
    return mempool_create(min_nr, mempool_alloc_pages, mempool_free_pages, order)
