"""ARMv7-A short-descriptor translation (VMSAv7, no LPAE), as a Cortex-A9 walks it.

Models the ARM ARM (DDI 0406C) chapter B3: the short-descriptor format (B3.5): sections,
supersections, 64 KiB large and 4 KiB small pages, TTBR0/TTBR1 selection by TTBCR.N with the
PD0/PD1 walk disables; access control (B3.7): domains and DACR, AP[2:0] in the full model
(SCTLR.AFE=0) and the simplified model with the access flag (AFE=1), XN; memory attributes
(B3.8): TEX/C/B, or TEX remap through PRRR/NMRR when SCTLR.TRE=1; the MMU-off behaviour
(B3.2); the fault-checking order and the short-descriptor DFSR/IFSR encodings ("VMSA memory
aborts", "Exception reporting in a VMSA implementation"). Bit layouts as sourced in
shared/reference/TECH-REFERENCE.md §1. UNPREDICTABLE encodings are taken the way QEMU takes
them: DACR 0b10 is No access, AP=0b100 gives no access.

Not modelled:
- LPAE (TTBCR.EAE=1): a Cortex-A9 has none (its TTBCR bit 31 is reserved; QEMU's A9 drops
  writes to it); the walk returns a WalkFault of kind "reserved".
- PXN: it arrived with the LPAE cores (Cortex-A7/A15); see `L1_PXN`.
- Supersection extended PA bits (PA[39:32] in desc[8:5] and desc[23:20]): soclab's physical
  address space is 32-bit, so they are ignored (as Unicorn does).
- The Security Extensions: NS bits are ignored, there is one bank of CP15 registers.
- Hardware access-flag management (SCTLR.HA), WXN/UWXN (Virtualization Extensions).

Deviations from QEMU's get_phys_addr_v6 (Unicorn's own walker), which are QEMU's, not ours:
QEMU checks the domain before it fetches the L2 descriptor and before the access flag, checks
XN before the access flag, and lets a Manager domain skip the access flag. The ARM ARM's
pseudocode (TranslationTableWalkSD, which raises translation and access-flag faults, then
CheckDomain, then CheckPermission with XN) walks first: an invalid L2 entry is a translation
fault, page, and a clear access flag an access-flag fault, whatever the domain or XN. Only
the Manager-domain point changes whether an access faults; the others change the FSR.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from emulator.mmu import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    AccessType,
    MemType,
    ReadPhys,
    Translation,
    WalkFault,
)

#: Cortex-A9 implements no PXN, so an L1 descriptor of type 0b11 is a translation fault,
#: section, and bit 2 of a page-table descriptor is ignored. True models an LPAE-era core:
#: type 0b11 is a section with PXN=1 and table bit 2 is PXN.
L1_PXN: Final = False

SCTLR_M, SCTLR_C, SCTLR_EE = 1 << 0, 1 << 2, 1 << 25
SCTLR_TRE, SCTLR_AFE = 1 << 28, 1 << 29
TTBCR_N_MASK, TTBCR_PD0, TTBCR_PD1, TTBCR_EAE = 0b111, 1 << 4, 1 << 5, 1 << 31
FSR_DOMAIN_SHIFT, FSR_FS4, FSR_WNR = 4, 1 << 10, 1 << 11
DOMAIN_NOACCESS, DOMAIN_CLIENT, DOMAIN_RESERVED, DOMAIN_MANAGER = 0, 1, 2, 3
PROT_RW = PROT_READ | PROT_WRITE
PROT_ALL = PROT_RW | PROT_EXEC
MMU_OFF_PAGE = 4096  # the TLB granule an MMU-off translation is good for


class FaultStatus(enum.IntEnum):
    """FS[4:0] of the short-descriptor DFSR/IFSR, with the ARM ARM's names."""

    ALIGNMENT = 0b00001
    DEBUG_EVENT = 0b00010
    ACCESS_FLAG_SECTION = 0b00011
    ICACHE_MAINTENANCE = 0b00100
    TRANSLATION_SECTION = 0b00101
    ACCESS_FLAG_PAGE = 0b00110
    TRANSLATION_PAGE = 0b00111
    SYNC_EXTERNAL = 0b01000
    DOMAIN_SECTION = 0b01001
    DOMAIN_PAGE = 0b01011
    SYNC_EXTERNAL_WALK_L1 = 0b01100
    PERMISSION_SECTION = 0b01101
    SYNC_EXTERNAL_WALK_L2 = 0b01110
    PERMISSION_PAGE = 0b01111
    TLB_CONFLICT = 0b10000
    ASYNC_EXTERNAL = 0b10110


def fsr(fs: FaultStatus, domain: int = 0, write: bool = False) -> int:
    """The FSR value the hardware writes: FS[4] at bit 10, FS[3:0], domain [7:4], WnR."""
    return (
        (FSR_FS4 if fs & 0x10 else 0)
        | (fs & 0xF)
        | (domain & 0xF) << FSR_DOMAIN_SHIFT
        | (FSR_WNR if write else 0)
    )


class TableWalkAbort(Exception):
    """Raised by a `read_phys` when no memory answers a descriptor fetch: the walk becomes a
    synchronous external abort on the translation table walk (FS 0b01100 / 0b01110)."""


@dataclass(frozen=True, slots=True)
class ArmMmuState:
    """The CP15 registers a walk depends on."""

    sctlr: int
    ttbr0: int
    ttbr1: int
    ttbcr: int
    dacr: int
    prrr: int
    nmrr: int
    # What walks under these registers have decoded: small-page attributes by descriptor
    # bits (see _walk_small_page) and each TTBR's walk memory type. A new state, made on
    # every write to one of the registers, starts empty.
    memo: dict[Any, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def from_cpu(cls, read_cp15: Callable[[str], int]) -> ArmMmuState:
        names = ("SCTLR", "TTBR0", "TTBR1", "TTBCR", "DACR", "PRRR", "NMRR")
        return cls(*(read_cp15(n) & 0xFFFF_FFFF for n in names))


class _Leaf(NamedTuple):
    """A valid final descriptor, decoded (section, supersection, large or small page). A
    NamedTuple rather than a frozen dataclass: it is built on every TLB fill."""

    base: int  # physical address of the page
    page_size: int
    level: int  # 1 for (super)sections, 2 for pages
    domain: int
    ap: int  # AP[2:0]
    xn: bool
    pxn: bool
    tex: int
    cb: int  # C:B
    shared: bool
    ng: bool


class _Miss(NamedTuple):
    """A walk that found no valid descriptor: the fault status, the domain if known, why."""

    fs: FaultStatus
    domain: int
    message: str


# (privileged, user) access for AP[2:0] with SCTLR.AFE=0, and for AP[2:1] with AFE=1
_AP_FULL = ((0, 0), (PROT_RW, 0), (PROT_RW, PROT_READ), (PROT_RW, PROT_RW),
            (0, 0), (PROT_READ, 0), (PROT_READ, PROT_READ), (PROT_READ, PROT_READ))  # fmt: skip
_AP_SIMPLE = ((PROT_RW, 0), (PROT_RW, PROT_RW), (PROT_READ, 0), (PROT_READ, PROT_READ))

# Normal-memory cache policies, as NMRR and TEX[1:0]/C:B encode them
_NC, _WBWA, _WT, _WB = 0, 1, 2, 3
_POLICY_MEMTYPE = {_NC: MemType.NORMAL_NC, _WBWA: MemType.WRITE_BACK,
                   _WT: MemType.WRITE_THROUGH, _WB: MemType.WRITE_BACK}  # fmt: skip
_POLICY_LABEL = {_NC: "MEM/BUFFERABLE/WC", _WBWA: "MEM/CACHED/WBWA",
                 _WT: "MEM/CACHED/WT", _WB: "MEM/CACHED/WBRA"}  # fmt: skip
_SO, _DEVICE, _NORMAL, _RESERVED = 0, 1, 2, 3  # PRRR TRn encoding
# TEX[2]=0 encodings with SCTLR.TRE=0 -> (type, inner policy, shareable; None: the S bit)
_TEX_CB: dict[tuple[int, int], tuple[int, int, bool | None]] = {
    (0, 0): (_SO, 0, True),
    (0, 1): (_DEVICE, 0, True),
    (0, 2): (_NORMAL, _WT, None),
    (0, 3): (_NORMAL, _WB, None),
    (1, 0): (_NORMAL, _NC, None),
    (1, 3): (_NORMAL, _WBWA, None),
    (2, 0): (_DEVICE, 0, False),
}
_ACCESS_PROT = {AccessType.READ: PROT_READ, AccessType.WRITE: PROT_WRITE,
                AccessType.FETCH: PROT_EXEC}  # fmt: skip


# The walker. One L1 fetch through the TTBR that TTBCR.N selects, one L2 fetch for a page
# table; the descriptor found is decoded into a _Leaf, then checked in the architecture's
# order: access flag, domain, permissions (AP, then XN for fetches). A Translation carries
# every permission the privilege has on the page so the TLB-fill hook can fill one entry
# for all access types; the walk faults when the requested access is not among them.


def _ttbr_for(state: ArmMmuState, vaddr: int) -> tuple[int, int, int, bool]:
    """(L1 table base, index mask, which TTBR, walk disabled by PDx) for vaddr."""
    n = state.ttbcr & TTBCR_N_MASK
    if n and vaddr >> (32 - n):
        return state.ttbr1 & 0xFFFF_C000, 0xFFF, 1, bool(state.ttbcr & TTBCR_PD1)
    base = state.ttbr0 & (0xFFFF_FFFF << (14 - n)) & 0xFFFF_FFFF
    return base, 0xFFF >> n, 0, bool(state.ttbcr & TTBCR_PD0)


def _read_desc(state: ArmMmuState, read_phys: ReadPhys, paddr: int) -> int:
    desc = read_phys(paddr, 4) & 0xFFFF_FFFF
    if state.sctlr & SCTLR_EE:  # big-endian table walks
        desc = int.from_bytes(desc.to_bytes(4, "little"), "big")
    return desc


def _section(desc: int) -> _Leaf | None:
    """Decode an L1 section or supersection descriptor (None: reserved type 0b11)."""
    pxn = bool(desc & 1)
    if pxn and not L1_PXN:
        return None
    if desc & (1 << 18):  # supersection: 16 MiB, domain 0, extended PA ignored
        base, size, domain = desc & 0xFF00_0000, 1 << 24, 0
    else:
        base, size, domain = desc & 0xFFF0_0000, 1 << 20, (desc >> 5) & 0xF
    ap = (desc >> 10) & 3 | (desc >> 13) & 4
    return _Leaf(base, size, 1, domain, ap, bool(desc & 0x10), pxn, (desc >> 12) & 7,
                 (desc >> 2) & 3, bool(desc & (1 << 16)), bool(desc & (1 << 17)))  # fmt: skip


def _page(desc: int, domain: int, pxn: bool) -> _Leaf:
    """Decode a valid L2 descriptor: large page (type 0b01) or small page (0b1x)."""
    ap = (desc >> 4) & 3 | (desc >> 7) & 4
    if desc & 2:
        base, size, xn, tex = desc & 0xFFFF_F000, 1 << 12, bool(desc & 1), (desc >> 6) & 7
    else:
        base, size, xn, tex = desc & 0xFFFF_0000, 1 << 16, bool(desc & 0x8000), (desc >> 12) & 7
    return _Leaf(base, size, 2, domain, ap, xn, pxn, tex, (desc >> 2) & 3,
                 bool(desc & (1 << 10)), bool(desc & (1 << 11)))  # fmt: skip


def _lookup(state: ArmMmuState, vaddr: int, read_phys: ReadPhys) -> _Leaf | _Miss:
    """TranslationTableWalkSD: the final descriptor, or why there is none."""
    base, mask, which, disabled = _ttbr_for(state, vaddr)
    if disabled:
        why = f"TTBR{which} walks disabled by TTBCR.PD{which}"
        return _Miss(FaultStatus.TRANSLATION_SECTION, 0, why)
    l1_addr = base | ((vaddr >> 20) & mask) << 2
    try:
        desc = _read_desc(state, read_phys, l1_addr)
    except TableWalkAbort as e:
        return _Miss(FaultStatus.SYNC_EXTERNAL_WALK_L1, 0, f"L1 fetch at {l1_addr:#010x}: {e}")
    leaf = _section(desc) if desc & 2 else None
    if leaf is None and desc & 3 != 1:
        why = "reserved type 0b11" if desc & 3 else "fault entry"
        why = f"L1 descriptor at {l1_addr:#010x} = {desc:#010x}: {why}"
        return _Miss(FaultStatus.TRANSLATION_SECTION, 0, why)
    if leaf is not None:
        return leaf
    domain = (desc >> 5) & 0xF
    pxn = L1_PXN and bool(desc & 4)
    l2_addr = (desc & 0xFFFF_FC00) | (vaddr >> 10) & 0x3FC
    try:
        l2 = _read_desc(state, read_phys, l2_addr)
    except TableWalkAbort as e:
        why = f"L2 fetch at {l2_addr:#010x}: {e}"
        return _Miss(FaultStatus.SYNC_EXTERNAL_WALK_L2, domain, why)
    if l2 & 3 == 0:
        why = f"L2 descriptor at {l2_addr:#010x} = {l2:#010x}: fault entry"
        return _Miss(FaultStatus.TRANSLATION_PAGE, domain, why)
    return _page(l2, domain, pxn)


def _client_prot(state: ArmMmuState, leaf: _Leaf, user: bool) -> int:
    """AP and XN in a Client domain; executing needs read permission."""
    if state.sctlr & SCTLR_AFE:
        rw = _AP_SIMPLE[leaf.ap >> 1][user]
    else:
        rw = _AP_FULL[leaf.ap][user]
    if rw and not leaf.xn and not (leaf.pxn and not user):
        rw |= PROT_EXEC
    return rw


def _prot(state: ArmMmuState, leaf: _Leaf, user: bool) -> int:
    """Every access the privilege has (0 when the access flag or the domain forbids all)."""
    if state.sctlr & SCTLR_AFE and not leaf.ap & 1:
        return 0
    dom = (state.dacr >> 2 * leaf.domain) & 3
    if dom == DOMAIN_MANAGER:
        return PROT_ALL
    return _client_prot(state, leaf, user) if dom == DOMAIN_CLIENT else 0


def _attrs(state: ArmMmuState, leaf: _Leaf) -> tuple[int, int, bool]:
    """(PRRR-style type, inner policy, shareable) from TEX/C/B or from PRRR/NMRR (B3.8)."""
    tex, cb = leaf.tex, leaf.cb
    if state.sctlr & SCTLR_TRE:
        n = (tex & 1) << 2 | cb
        kind = (state.prrr >> 2 * n) & 3
        s_bit = 17 if kind == _DEVICE else 19  # DS1 / NS1 (S=1); DS0 / NS0 one below (S=0)
        shared = kind == _SO or bool(state.prrr >> (s_bit - (not leaf.shared)) & 1)
        return kind, (state.nmrr >> 2 * n) & 3, shared
    if tex & 4:  # TEX=1BB, C:B=AA: normal, outer BB, inner AA
        return _NORMAL, cb, leaf.shared
    kind, policy, fixed = _TEX_CB.get((tex, cb), (_RESERVED, 0, False))
    return kind, policy, leaf.shared if fixed is None else fixed


def _memtype(state: ArmMmuState, leaf: _Leaf) -> MemType:
    """The data-side memory type. Normal memory with different inner and outer policies
    takes the inner one: the modelled cache is the L1 D-cache. Reserved encodings are taken
    as strongly-ordered; with SCTLR.C=0 data accesses to Normal memory are non-cacheable."""
    kind, inner, _ = _attrs(state, leaf)
    if kind == _NORMAL:
        return _POLICY_MEMTYPE[inner] if state.sctlr & SCTLR_C else MemType.NORMAL_NC
    return MemType.DEVICE if kind == _DEVICE else MemType.STRONGLY_ORDERED


def _fault(
    vaddr: int, access: AccessType, fs: FaultStatus, domain: int, kind: str, level: int, msg: str
) -> WalkFault:
    status = fsr(fs, domain, access is AccessType.WRITE)
    return WalkFault(vaddr, access, status, kind, level, f"{_FS_NAMES[fs]}: {msg}")


_FS_NAMES = {fs: fs.name.lower().replace("_", " ") for fs in FaultStatus}


def walk(
    state: ArmMmuState, vaddr: int, access: AccessType, user: bool, read_phys: ReadPhys
) -> Translation | WalkFault:
    """Translate vaddr for one access at PL0 (`user`) or PL1, as on a TLB miss."""
    vaddr &= 0xFFFF_FFFF
    if not state.sctlr & SCTLR_M:
        # MMU off (B3.2.1): flat. Data accesses are strongly-ordered; instruction fetches
        # are Normal memory, but one TLB entry serves both, so the data type is reported.
        return Translation(vaddr, vaddr, MMU_OFF_PAGE, PROT_ALL, MemType.STRONGLY_ORDERED)
    if state.ttbcr & TTBCR_EAE:
        msg = "TTBCR.EAE=1: long-descriptor (LPAE) translation is not modelled on Cortex-A9"
        return _fault(vaddr, access, FaultStatus.TRANSLATION_SECTION, 0, "reserved", 1, msg)
    fast = _walk_small_page(state, vaddr, access, user, read_phys)
    if fast is not None:
        return fast
    leaf = _lookup(state, vaddr, read_phys)
    if isinstance(leaf, _Miss):
        fs, domain, msg = leaf
        ext = fs in (FaultStatus.SYNC_EXTERNAL_WALK_L1, FaultStatus.SYNC_EXTERNAL_WALK_L2)
        level = 2 if fs in (FaultStatus.TRANSLATION_PAGE, FaultStatus.SYNC_EXTERNAL_WALK_L2) else 1
        return _fault(vaddr, access, fs, domain, "external" if ext else "translation", level, msg)
    page = leaf.level == 2
    if state.sctlr & SCTLR_AFE and not leaf.ap & 1:
        fs = FaultStatus.ACCESS_FLAG_PAGE if page else FaultStatus.ACCESS_FLAG_SECTION
        msg = "AP[0], the access flag, is 0"
        return _fault(vaddr, access, fs, leaf.domain, "access-flag", leaf.level, msg)
    dom = (state.dacr >> 2 * leaf.domain) & 3
    if dom in (DOMAIN_NOACCESS, DOMAIN_RESERVED):
        fs = FaultStatus.DOMAIN_PAGE if page else FaultStatus.DOMAIN_SECTION
        msg = f"DACR D{leaf.domain} is {'no access' if dom == DOMAIN_NOACCESS else 'reserved'}"
        return _fault(vaddr, access, fs, leaf.domain, "domain", leaf.level, msg)
    prot = PROT_ALL if dom == DOMAIN_MANAGER else _client_prot(state, leaf, user)
    if not prot & _ACCESS_PROT[access]:
        fs = FaultStatus.PERMISSION_PAGE if page else FaultStatus.PERMISSION_SECTION
        who = "PL0" if user else "PL1"
        msg = f"{access.value} at {who} not allowed (AP={leaf.ap:03b}, XN={int(leaf.xn)})"
        return _fault(vaddr, access, fs, leaf.domain, "permission", leaf.level, msg)
    paddr = leaf.base | (vaddr & (leaf.page_size - 1))
    memtype = _memtype(state, leaf)
    return Translation(vaddr, paddr, leaf.page_size, prot, memtype, not leaf.ng, leaf.level)


def _walk_small_page(
    state: ArmMmuState, vaddr: int, access: AccessType, user: bool, read_phys: ReadPhys
) -> Translation | WalkFault | None:
    """The common walk: an L1 page-table entry, then a small page the access may use, or an
    L2 fault entry (a demand fault). The permissions and memory type a small page's
    descriptor bits give are decoded once per register state and kept in `state.memo`.
    None: anything else (sections, large pages, other faults, external aborts), which the
    full walk handles from the start."""
    base, mask, which, disabled = _ttbr_for(state, vaddr)
    if disabled:
        return None
    try:
        desc = _read_desc(state, read_phys, base | ((vaddr >> 20) & mask) << 2)
        if desc & 3 != 1:
            return None
        l2_addr = (desc & 0xFFFF_FC00) | (vaddr >> 10) & 0x3FC
        l2 = _read_desc(state, read_phys, l2_addr)
    except TableWalkAbort:
        return None
    if not l2 & 2:
        if l2 & 1:
            return None  # a large page
        why = f"L2 descriptor at {l2_addr:#010x} = {l2:#010x}: fault entry"
        fs = FaultStatus.TRANSLATION_PAGE
        return _fault(vaddr, access, fs, (desc >> 5) & 0xF, "translation", 2, why)
    key = (l2 & 0xFFF, desc & 0x1E4, user)  # attributes and AP; table domain and PXN
    attrs = state.memo.get(key)
    if attrs is None:
        leaf = _page(l2, (desc >> 5) & 0xF, L1_PXN and bool(desc & 4))
        prot = _prot(state, leaf, user)  # 0: an access-flag or domain fault
        attrs = state.memo[key] = (prot, _memtype(state, leaf), not leaf.ng)
    prot, memtype, global_ = attrs
    if not prot & _ACCESS_PROT[access]:
        return None  # the full walk finds which fault
    paddr = (l2 & 0xFFFF_F000) | (vaddr & 0xFFF)
    return Translation(vaddr, paddr, 1 << 12, prot, memtype, global_, 2)


def walk_memtype(state: ArmMmuState, vaddr: int) -> MemType:
    """How the walk for vaddr reads the tables: the inner cacheability TTBRx.IRGN gives the
    TTBR that translates vaddr (Multiprocessing-Extensions layout: IRGN[1] is bit 0, IRGN[0]
    bit 6), non-cacheable when SCTLR.C=0."""
    which = _ttbr_for(state, vaddr & 0xFFFF_FFFF)[2]
    memtype: MemType | None = state.memo.get(which)
    if memtype is None:
        ttbr = state.ttbr1 if which else state.ttbr0
        if not state.sctlr & SCTLR_C:
            memtype = MemType.NORMAL_NC
        else:
            memtype = _POLICY_MEMTYPE[(ttbr & 1) << 1 | (ttbr >> 6) & 1]
        state.memo[which] = memtype
    return memtype


# -- enumeration and Linux-style dump ---------------------------------------------------------


def _slots(state: ArmMmuState, read_phys: ReadPhys) -> Iterator[tuple[int, int, _Leaf]]:
    """(vaddr, slot size, leaf) for every valid descriptor, in address order. A supersection or
    large page, written 16 times as the architecture requires, is seen in each of its slots."""
    if not state.sctlr & SCTLR_M or state.ttbcr & TTBCR_EAE:
        return
    for index in range(4096):
        vaddr = index << 20
        base, mask, _, disabled = _ttbr_for(state, vaddr)
        if disabled:
            continue
        desc = _read_desc(state, read_phys, base | (index & mask) << 2)
        if desc & 2:
            leaf = _section(desc)
            if leaf is not None:
                yield vaddr, 1 << 20, leaf
        elif desc & 3 == 1:
            domain, pxn = (desc >> 5) & 0xF, L1_PXN and bool(desc & 4)
            for i in range(256):
                l2 = _read_desc(state, read_phys, (desc & 0xFFFF_FC00) | i << 2)
                if l2 & 3:
                    yield vaddr | i << 12, 1 << 12, _page(l2, domain, pxn)


def mappings(state: ArmMmuState, read_phys: ReadPhys, user: bool = False) -> Iterator[Translation]:
    """Every valid mapping of the current address space, one per descriptor slot, with the
    permissions `user` (PL0) or PL1 has (prot 0: mapped, but the domain or the access flag
    forbids every access). Nothing with the MMU off."""
    for vaddr, _, leaf in _slots(state, read_phys):
        paddr = leaf.base | (vaddr & (leaf.page_size - 1))
        prot, memtype = _prot(state, leaf, user), _memtype(state, leaf)
        yield Translation(vaddr, paddr, leaf.page_size, prot, memtype, not leaf.ng, leaf.level)


#: Linux's domain numbers (arch/arm/include/asm/domain.h), as arch/arm/mm/dump.c names them
_DOMAIN_NAMES = {0: "KERNEL ", 1: "USER   ", 2: "IO     ", 3: "VECTORS"}


def _describe(state: ArmMmuState, leaf: _Leaf) -> str:
    """The attribute columns of a dump line, in arch/arm/mm/dump.c's order and spelling."""
    afe = bool(state.sctlr & SCTLR_AFE)
    priv, usr = _AP_SIMPLE[leaf.ap >> 1] if afe else _AP_FULL[leaf.ap]
    rights = usr or priv
    perm = "--" if not rights else "RW" if rights & PROT_WRITE else "ro"
    kind, inner, shared = _attrs(state, leaf)
    if kind == _NORMAL:
        mt = _POLICY_LABEL[inner]
    elif kind == _DEVICE:
        mt = "DEV/SHARED" if shared else "DEV/NONSHARED"
    else:
        mt = "SO/UNCACHED" if kind == _SO else "RESERVED"
    cols = [
        "USR" if usr else "   ",
        perm,
        "NX" if leaf.xn else "x ",
        "SHD" if leaf.shared else "   ",
    ]
    if afe:
        cols.append("AF" if leaf.ap & 1 else "  ")
    return " ".join([*cols, mt])


def dump(state: ArmMmuState, read_phys: ReadPhys, markers: Sequence[tuple[int, str]] = ()) -> str:
    """The page tables as Linux's /sys/kernel/debug/kernel_page_tables shows them
    (arch/arm/mm/dump.c): adjacent slots with the same level, domain and attributes merge
    into one line, `markers` are (address, name) headers that also end a merge. Unlike
    Linux, sections get the memory-type column too, and domains Linux has no name for
    print as DOMn."""
    if not state.sctlr & SCTLR_M:
        return "MMU off (SCTLR.M=0): flat mapping\n"
    if state.ttbcr & TTBCR_EAE:
        return "TTBCR.EAE=1: LPAE tables are not modelled\n"
    bounds = sorted(markers)
    addrs = [addr for addr, _ in bounds]
    runs: list[tuple[int, int, str, int]] = []  # start, end, columns, markers passed
    for vaddr, size, leaf in _slots(state, read_phys):
        domain = _DOMAIN_NAMES.get(leaf.domain, f"DOM{leaf.domain:<4d}")
        key = f"{'PTE' if leaf.level == 2 else 'PGD'} {domain} {_describe(state, leaf)}"
        passed = bisect.bisect_right(addrs, vaddr)
        if runs and runs[-1][1] == vaddr and runs[-1][2:] == (key, passed):
            runs[-1] = (runs[-1][0], vaddr + size, key, passed)
        else:
            runs.append((vaddr, vaddr + size, key, passed))
    lines, shown = [], 0
    for start, end, key, passed in runs:
        for _, name in bounds[shown:passed]:
            lines.append(f"---[ {name} ]---")
        shown = max(shown, passed)
        delta, unit = (end - start) >> 10, 0
        while delta % 1024 == 0 and unit < 5:
            delta, unit = delta >> 10, unit + 1
        lines.append(f"0x{start:08x}-0x{end & 0xFFFF_FFFF:08x}   {delta:9d}{'KMGTPE'[unit]} {key}")
    lines += [f"---[ {name} ]---" for _, name in bounds[shown:]]
    return "".join(line + "\n" for line in lines)
