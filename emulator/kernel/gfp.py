"""GFP flags: include/linux/gfp_types.h, with Linux's names and bit positions (6.x)."""

from __future__ import annotations

gfp_t = int  # Linux's type: a bit set of the flags below

__GFP_DMA: gfp_t = 0x01
__GFP_HIGHMEM: gfp_t = 0x02
__GFP_DMA32: gfp_t = 0x04
__GFP_MOVABLE: gfp_t = 0x08
__GFP_RECLAIMABLE: gfp_t = 0x10
__GFP_HIGH: gfp_t = 0x20
__GFP_IO: gfp_t = 0x40
__GFP_FS: gfp_t = 0x80
__GFP_ZERO: gfp_t = 0x100
__GFP_DIRECT_RECLAIM: gfp_t = 0x400
__GFP_KSWAPD_RECLAIM: gfp_t = 0x800
__GFP_WRITE: gfp_t = 0x1000
__GFP_NOWARN: gfp_t = 0x2000
__GFP_RETRY_MAYFAIL: gfp_t = 0x4000
__GFP_NOFAIL: gfp_t = 0x8000
__GFP_NORETRY: gfp_t = 0x10000
__GFP_MEMALLOC: gfp_t = 0x20000
__GFP_COMP: gfp_t = 0x40000
__GFP_NOMEMALLOC: gfp_t = 0x80000
__GFP_HARDWALL: gfp_t = 0x100000
__GFP_RECLAIM: gfp_t = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM

_FLAG_NAMES = (
    ("__GFP_DMA", __GFP_DMA),
    ("__GFP_HIGHMEM", __GFP_HIGHMEM),
    ("__GFP_DMA32", __GFP_DMA32),
    ("__GFP_MOVABLE", __GFP_MOVABLE),
    ("__GFP_RECLAIMABLE", __GFP_RECLAIMABLE),
    ("__GFP_HIGH", __GFP_HIGH),
    ("__GFP_IO", __GFP_IO),
    ("__GFP_FS", __GFP_FS),
    ("__GFP_ZERO", __GFP_ZERO),
    ("__GFP_DIRECT_RECLAIM", __GFP_DIRECT_RECLAIM),
    ("__GFP_KSWAPD_RECLAIM", __GFP_KSWAPD_RECLAIM),
    ("__GFP_WRITE", __GFP_WRITE),
    ("__GFP_NOWARN", __GFP_NOWARN),
    ("__GFP_RETRY_MAYFAIL", __GFP_RETRY_MAYFAIL),
    ("__GFP_NOFAIL", __GFP_NOFAIL),
    ("__GFP_NORETRY", __GFP_NORETRY),
    ("__GFP_MEMALLOC", __GFP_MEMALLOC),
    ("__GFP_COMP", __GFP_COMP),
    ("__GFP_NOMEMALLOC", __GFP_NOMEMALLOC),
    ("__GFP_HARDWALL", __GFP_HARDWALL),
)

GFP_ATOMIC: gfp_t = __GFP_HIGH | __GFP_KSWAPD_RECLAIM
GFP_KERNEL: gfp_t = __GFP_RECLAIM | __GFP_IO | __GFP_FS
GFP_NOWAIT = __GFP_KSWAPD_RECLAIM
GFP_NOIO = __GFP_RECLAIM
GFP_NOFS = __GFP_RECLAIM | __GFP_IO
GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL
GFP_DMA = __GFP_DMA
GFP_DMA32 = __GFP_DMA32
GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM
GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE


def gfpflags_allow_blocking(gfp: int) -> bool:
    """include/linux/gfp.h: may this allocation sleep?"""
    return bool(gfp & __GFP_DIRECT_RECLAIM)


def format_gfp(gfp: int) -> str:
    """'GFP_KERNEL|__GFP_ZERO' style, as the page-allocation-failure warning prints it."""
    g = int(gfp)
    parts = []
    for name, value in (
        ("GFP_HIGHUSER_MOVABLE", GFP_HIGHUSER_MOVABLE),
        ("GFP_HIGHUSER", GFP_HIGHUSER),
        ("GFP_USER", GFP_USER),
        ("GFP_KERNEL", GFP_KERNEL),
        ("GFP_NOFS", GFP_NOFS),
        ("GFP_NOIO", GFP_NOIO),
        ("GFP_ATOMIC", GFP_ATOMIC),
        ("GFP_NOWAIT", GFP_NOWAIT),
    ):
        if g & value == value and value:
            parts.append(name)
            g &= ~int(value)
            break
    for name, flag in _FLAG_NAMES:
        if g & flag:
            parts.append(name)
    return "|".join(parts) or "0"
