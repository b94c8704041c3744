"""Page-table walkers: what the hardware's MMU does on a TLB miss, in Python.

Each architecture's walker reads the *real* tables in guest RAM through a `read_phys` callable
(so tables built by the kernel model and by bare-metal guest code are walked the same way) and
returns either a `Translation` or a `WalkFault` — never raises for a guest-caused problem.
The CPU's TLB-fill hook turns a Translation into Unicorn's TLB entry and a WalkFault into the
architectural abort / page fault (ARCHITECTURE.md §1).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

#: read_phys(paddr, size) -> int (little-endian value of 4 or 8 bytes)
ReadPhys = Callable[[int, int], int]
#: write_phys(paddr, size, value): the walker's own writes (x86 accessed/dirty bits)
WritePhys = Callable[[int, int, int], None]

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4  # same values as unicorn.UC_PROT_*


class AccessType(enum.Enum):
    READ = "read"
    WRITE = "write"
    FETCH = "fetch"

    @property
    def prot(self) -> int:
        return {"read": PROT_READ, "write": PROT_WRITE, "fetch": PROT_EXEC}[self.value]


class MemType(enum.Enum):
    """The memory type a mapping gives, as the cache model needs it (datasheet §3)."""

    STRONGLY_ORDERED = "strongly-ordered"  # ARM SO; x86 UC
    DEVICE = "device"  # ARM device
    NORMAL_NC = "normal-nc"  # ARM normal non-cacheable; x86 WC: write-combining
    WRITE_THROUGH = "write-through"  # ARM WT; x86 WT (and WP, treated as WT)
    WRITE_BACK = "write-back"  # ARM WB / WBWA; x86 WB

    @property
    def cacheable(self) -> bool:
        return self in (MemType.WRITE_THROUGH, MemType.WRITE_BACK)


@dataclass(frozen=True, slots=True)
class Translation:
    vaddr: int
    paddr: int  # physical address of vaddr itself (not the page base)
    page_size: int  # bytes the final descriptor maps: 4 KiB, 64 KiB, 1 MiB, 16 MiB, 2 MiB, 4 MiB
    prot: int  # PROT_* bits allowed at the privilege the walk was made for
    memtype: MemType
    global_: bool = True  # ARM nG = 0 / x86 G = 1 (only meaningful with the MMU on)
    level: int = 0  # the table level of the final descriptor (1 = L1 / PDE ...)


@dataclass(frozen=True, slots=True)
class WalkFault:
    """A walk that ends in a fault. `status` is architectural: ARM the FSR value (FS bits,
    domain in [7:4], WnR in bit 11 for writes); x86 the #PF error code."""

    vaddr: int
    access: AccessType
    status: int
    kind: str  # "translation", "permission", "domain", "access-flag", "reserved", "external"
    level: int = 0
    message: str = ""
