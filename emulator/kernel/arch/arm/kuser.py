"""The ARM kuser helpers: code the kernel places at the top of the vector page, which user
space calls at fixed addresses (arch/arm/kernel/entry-armv.S `__kuser_helper_start`,
traps.c kuser_init; Documentation/arm/kernel_user_helpers.rst).

| address    | helper                   | what it does                                        |
|------------|--------------------------|-----------------------------------------------------|
| 0xffff0f60 | `__kuser_cmpxchg64`      | 64-bit compare-and-swap: r0 *old, r1 *new, r2 ptr    |
| 0xffff0fa0 | `__kuser_memory_barrier` | `dmb ish`                                           |
| 0xffff0fc0 | `__kuser_cmpxchg`        | 32-bit compare-and-swap: r0 old, r1 new, r2 ptr      |
| 0xffff0fe0 | `__kuser_get_tls`        | r0 = TPIDRURO (what `set_tls` stored)               |
| 0xffff0ffc | `__kuser_helper_version` | the number of helpers: 5                            |

The code is the ARMv7 SMP variant of entry-armv.S, assembled once (ldrex/strex loops with
`dmb ish` barriers; each helper one 32-byte slot, padded with `udf` as Linux pads with
`.word 0xe7fddef1`); the cmpxchg helpers return 0 with C set on success. The vector page is
mapped user read-only and executable, as Linux maps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

KUSER_HELPERS = bytes.fromhex(
    # 0xf60 __kuser_cmpxchg64
    "f0002de9d040c0e1d060c1e15bf07ff59f0fb2e1043030e005303100963fa201"
    "01003303f9ffff0a5bf07ff5000073e2f000bde81eff2fe100f020e300f020e3"
    # 0xfa0 __kuser_memory_barrier
    "5bf07ff51eff2fe100f020e300f020e300f020e300f020e300f020e300f020e3"
    # 0xfc0 __kuser_cmpxchg (ends with `b __kuser_memory_barrier`)
    "5bf07ff59f3f92e1003053e0913f820101003303faffff0a000073e2efffffea"
    # 0xfe0 __kuser_get_tls, padding, 0xffc __kuser_helper_version
    "700f1dee1eff2fe1f1defde7f1defde7f1defde7f1defde7f1defde705000000"
)
KUSER_CMPXCHG64, KUSER_MEMORY_BARRIER = 0xFFFF_0F60, 0xFFFF_0FA0
KUSER_CMPXCHG, KUSER_GET_TLS, KUSER_HELPER_VERSION = 0xFFFF_0FC0, 0xFFFF_0FE0, 0xFFFF_0FFC


def kuser_init(k: Kernel, vectors_page: int) -> None:
    """kuser_init(): copy the helpers to the top of the vector page (then the kernel's
    flush_icache_range: the page is written through the cache, so it is cleaned)."""
    at = vectors_page + 0x1000 - len(KUSER_HELPERS)
    k.phys_write(at, KUSER_HELPERS)
    k.cache.clean(at, len(KUSER_HELPERS))


def do_cache_op(k: Kernel, start: int, end: int, flags: int) -> int:
    """The ARM-private cacheflush(start, end, flags) (arch/arm/kernel/traps.c
    __do_cache_op → __cpuc_coherent_user_range): the data-cache lines of the range are
    cleaned to memory, where the instruction side reads; pages not present hold nothing."""
    from emulator.cpu.base import TranslationFault

    if end < start or flags:
        return -22  # EINVAL
    va = start
    while va < end:
        n = min(end - va, 0x1000 - (va & 0xFFF))
        try:
            k.cpu.cache_maintenance("clean", va, n)
        except TranslationFault:
            pass
        va += n
    return 0
