"""mempool: a reserve of min_nr elements that mempool_alloc falls back on when the element
allocator fails, refilled by mempool_free; Linux's allocation order and GFP flags; a sleeping
caller that would wait forever and a pool destroyed with elements outstanding are BUGs."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.board import load_board
from emulator.kernel.core import Kernel
from emulator.kernel.gfp import (
    __GFP_DIRECT_RECLAIM,
    __GFP_IO,
    __GFP_NOMEMALLOC,
    __GFP_NORETRY,
    __GFP_NOWARN,
    GFP_ATOMIC,
    GFP_KERNEL,
    GFP_NOIO,
)
from emulator.kernel.mm.mempool import (
    Mempool,
    mempool_alloc,
    mempool_create,
    mempool_create_kmalloc_pool,
    mempool_create_page_pool,
    mempool_create_slab_pool,
    mempool_destroy,
    mempool_free,
    mempool_resize,
)
from emulator.kernel.mm.page_alloc import Page, nr_free_pages
from emulator.kernel.mm.slab import kmem_cache_create, kmem_cache_destroy
from emulator.machine import Machine


class Allocator:
    """An element allocator whose failures the test controls, recording each call's gfp."""

    def __init__(self) -> None:
        self.failing = False
        self.fail_after: int | None = None  # fail every call after this many
        self.next = 0
        self.calls: list[int] = []
        self.live: set[int] = set()
        self.freed: list[int] = []

    def alloc(self, gfp: int, pool_data: Any) -> int | None:
        self.calls.append(gfp)
        if self.failing or (self.fail_after is not None and len(self.calls) > self.fail_after):
            return None
        self.next += 1
        self.live.add(self.next)
        return self.next

    def free(self, element: int, pool_data: Any) -> None:
        self.live.remove(element)
        self.freed.append(element)


def make_pool(min_nr: int) -> tuple[Mempool[int], Allocator]:
    a = Allocator()
    pool = mempool_create(min_nr, a.alloc, a.free, None)
    assert pool is not None
    return pool, a


def test_mempool_create_fills_the_reserve_with_min_nr_elements(kernel: Kernel) -> None:
    pool, a = make_pool(3)
    assert pool.curr_nr == 3 and pool.min_nr == 3
    assert a.calls == [GFP_KERNEL] * 3


def test_mempool_create_gives_everything_back_and_fails_if_the_prefill_fails(
    kernel: Kernel,
) -> None:
    a = Allocator()
    a.fail_after = 2
    assert mempool_create(4, a.alloc, a.free, None) is None
    assert a.live == set() and sorted(a.freed) == [1, 2]


def test_mempool_alloc_first_tries_the_allocator_without_reclaim_and_quietly(
    kernel: Kernel,
) -> None:
    pool, a = make_pool(2)
    a.calls.clear()
    element = mempool_alloc(pool, GFP_KERNEL)
    assert element == 3 and pool.curr_nr == 2  # the reserve is untouched
    (gfp,) = a.calls
    assert gfp & (__GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN) == (
        __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN
    )
    assert not gfp & (__GFP_DIRECT_RECLAIM | __GFP_IO)


def test_the_reserve_is_used_when_the_allocator_fails_then_a_full_retry(kernel: Kernel) -> None:
    pool, a = make_pool(2)
    a.failing = True
    a.calls.clear()
    assert mempool_alloc(pool, GFP_KERNEL) == 2  # the reserve is a stack
    assert mempool_alloc(pool, GFP_KERNEL) == 1
    assert pool.curr_nr == 0 and pool.outstanding == 2
    a.calls.clear()
    assert mempool_alloc(pool, GFP_ATOMIC) is None  # an atomic caller just fails
    assert "BUG" not in kernel.log_text()
    assert len(a.calls) == 1  # GFP_ATOMIC has no reclaim to add on a retry
    a.calls.clear()
    assert mempool_alloc(pool, GFP_NOIO) is None
    assert len(a.calls) == 2 and a.calls[1] & __GFP_DIRECT_RECLAIM  # retried with reclaim
    assert "BUG: mempool_alloc would sleep forever: reserve exhausted" in kernel.log_text()
    assert "min_nr=2, curr_nr=0, 2 element(s) held by callers" in kernel.log_text()


def test_mempool_free_refills_the_reserve_before_freeing(kernel: Kernel) -> None:
    pool, a = make_pool(2)
    a.failing = True
    e1, e2 = mempool_alloc(pool, GFP_KERNEL), mempool_alloc(pool, GFP_KERNEL)
    a.failing = False
    e3 = mempool_alloc(pool, GFP_KERNEL)
    mempool_free(e1, pool)
    assert pool.curr_nr == 1 and a.freed == []
    mempool_free(e3, pool)
    assert pool.curr_nr == 2 and a.freed == []
    mempool_free(e2, pool)  # the reserve is full: back to the allocator
    assert pool.curr_nr == 2 and a.freed == [e2]
    mempool_free(None, pool)
    mempool_destroy(pool)
    assert a.live == set() and "BUG" not in kernel.log_text()


def test_mempool_destroy_with_elements_outstanding_is_a_bug(kernel: Kernel) -> None:
    pool, a = make_pool(1)
    mempool_alloc(pool, GFP_KERNEL)
    mempool_destroy(pool)
    log = kernel.log_text()
    assert "mempool_destroy() with 1 element(s) still allocated from the pool" in log
    assert "test_mempool_destroy_with_elements_outstanding_is_a_bug" in log
    mempool_destroy(None)


def test_mempool_resize_shrinks_and_grows_the_reserve(kernel: Kernel) -> None:
    pool, a = make_pool(4)
    assert mempool_resize(pool, 2) == 0
    assert pool.min_nr == 2 and pool.curr_nr == 2 and len(a.freed) == 2
    assert mempool_resize(pool, 5) == 0
    assert pool.min_nr == 5 and pool.curr_nr == 5
    a.failing = True
    assert mempool_resize(pool, 7) == 0  # as Linux: a short reserve is not an error
    assert pool.min_nr == 7 and pool.curr_nr == 5


def test_kmalloc_slab_and_page_pools_hand_out_real_memory(kernel: Kernel) -> None:
    kpool = mempool_create_kmalloc_pool(2, 256)
    cache = kmem_cache_create("test_elems", 96, 0, 0, None)
    assert cache is not None
    spool = mempool_create_slab_pool(2, cache)
    free_before = nr_free_pages()
    ppool = mempool_create_page_pool(2, 1)
    assert nr_free_pages() == free_before - 4  # two order-1 blocks in reserve
    assert kpool is not None and spool is not None and ppool is not None
    buf = mempool_alloc(kpool, GFP_KERNEL)
    obj = mempool_alloc(spool, GFP_KERNEL)
    page = mempool_alloc(ppool, GFP_KERNEL)
    assert isinstance(buf, int) and isinstance(obj, int) and isinstance(page, Page)
    kernel.mem_write(buf, b"k" * 256)
    kernel.mem_write(obj, b"s" * 96)
    mempool_free(page, ppool)
    mempool_destroy(ppool)
    assert nr_free_pages() == free_before  # the page pool gave its blocks back
    mempool_free(buf, kpool)
    mempool_destroy(kpool)
    mempool_free(obj, spool)
    mempool_destroy(spool)
    kmem_cache_destroy(cache)  # reports objects still in the cache, if any
    assert "BUG" not in kernel.log_text()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["alloc", "free", "fail", "recover"]), max_size=40))
def test_the_reserve_never_exceeds_min_nr_and_every_element_is_accounted_for(
    ops: list[str],
) -> None:
    Kernel(Machine(load_board("armv7", 64 << 20), log=lambda msg: None), echo=False).boot()
    pool, a = make_pool(3)
    held: list[int] = []
    for op in ops:
        if op == "alloc":
            element = mempool_alloc(pool, GFP_ATOMIC)
            if element is not None:
                held.append(element)
        elif op == "free" and held:
            mempool_free(held.pop(0), pool)
        elif op in ("fail", "recover"):
            a.failing = op == "fail"
        assert pool.curr_nr <= pool.min_nr
        assert pool.outstanding == len(held)
        assert a.live == set(held) | set(pool.elements)
    for element in held:
        mempool_free(element, pool)
    mempool_destroy(pool)
    assert a.live == set()
