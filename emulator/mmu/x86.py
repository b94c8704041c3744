"""x86-32 page-table walker: what the MMU does on a TLB miss (Intel SDM vol. 3A ch. 4).

Models 32-bit paging (§4.3: 4 KiB pages, 4 MiB pages with CR4.PSE) and PAE paging (§4.4:
PDPTE → PDE (2 MiB with PS) → PTE, 8-byte entries, execute-disable with IA32_EFER.NXE),
the access rights of §4.6 (U/S and R/W combined over all levels, CR0.WP, XD, SMEP), the
accessed and dirty flags of §4.8, the #PF error code of §4.7 and PAT memory types (§11.12).
Entry bits and QEMU's `mmu_translate` (target/i386) as restated in TECH-REFERENCE.md §2.

The SoC's physical address space is 32 bits: MAXPHYADDR = 32. So, as the SDM's entry
formats say for that width, bits 21:13 of a 4 MiB PDE (PSE-36's address bits and bit 21) and
bits 62:32 of PAE entries are reserved, and setting one is a reserved-bit #PF.

Not modelled: PSE-36 and physical addresses above 4 GiB, 4-level / 5-level (64-bit) paging,
protection keys, shadow stacks, SMAP (it needs EFLAGS.AC per access, which the walk is not
given), MTRRs and CR0.CD/NW (the memory type is the PAT type alone; with paging off it is
write-back, datasheet §3), the A20 mask.

Deviations, and why:
- PAE PDPTEs are read on every walk, as QEMU does, not loaded into PDPTE registers at
  `mov cr3`; a PDPTE with a reserved bit (2:1, 8:5, 63:32) is therefore reported as a #PF
  with RSVD at level 1, where hardware raises #GP at the CR3 load.
- `Translation.level` counts from the root: 1 = the entry CR3 points at (non-PAE PDE, PAE
  PDPTE), 2 = the next (PTE, PAE PDE), 3 = PAE PTE.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.mmu import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    AccessType,
    MemType,
    ReadPhys,
    Translation,
    WalkFault,
    WritePhys,
)

MAXPHYADDR = 32
MSR_EFER, MSR_IA32_CR_PAT = 0xC000_0080, 0x277
PAT_RESET_VALUE = 0x0007_0406_0007_0406  # SDM §11.12.4; QEMU's x86_cpu_reset

X86_CR0_WP, X86_CR0_PG = 1 << 16, 1 << 31
X86_CR4_PSE, X86_CR4_PAE, X86_CR4_PGE, X86_CR4_SMEP = 1 << 4, 1 << 5, 1 << 7, 1 << 20
EFER_NXE = 1 << 11

# arch/x86/include/asm/pgtable_types.h
_PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_PWT, _PAGE_PCD = 1, 1 << 1, 1 << 2, 1 << 3, 1 << 4
_PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE, _PAGE_GLOBAL = 1 << 5, 1 << 6, 1 << 7, 1 << 8
_PAGE_PAT, _PAGE_PAT_LARGE, _PAGE_NX = 1 << 7, 1 << 12, 1 << 63

_ADDR_4K = 0xFFFF_F000
_RSVD_PSE_4M = 0x003F_E000  # bits 21:13: bit 21 plus PSE-36's PA[39:32] with MAXPHYADDR 32
_RSVD_PAE_HIGH = ((1 << 63) - 1) & ~((1 << MAXPHYADDR) - 1)  # bits 62:MAXPHYADDR
_RSVD_PDPTE = _RSVD_PAE_HIGH | _PAGE_NX | 0x1E6  # plus bits 2:1 and 8:5 (SDM table 4-8)
_RSVD_PAE_2M = 0x001F_E000  # bits 20:13


class X86PfErrorCode(enum.IntFlag):
    """The #PF error code (arch/x86/include/asm/trap_pf.h, enum x86_pf_error_code)."""

    PROT = 1 << 0  # 0: page not present, 1: protection (or reserved-bit) violation
    WRITE = 1 << 1
    USER = 1 << 2
    RSVD = 1 << 3
    INSTR = 1 << 4  # only when PAE paging with EFER.NXE, or CR4.SMEP


class PatType(enum.IntEnum):
    """IA32_PAT entry encodings (SDM table 11-10); 2 and 3 are reserved."""

    UC = 0
    WC = 1
    WT = 4
    WP = 5
    WB = 6
    UC_MINUS = 7


_PAT_MEMTYPE: dict[int, MemType] = {
    PatType.UC: MemType.STRONGLY_ORDERED,
    PatType.WC: MemType.NORMAL_NC,
    PatType.WT: MemType.WRITE_THROUGH,
    PatType.WP: MemType.WRITE_THROUGH,
    PatType.WB: MemType.WRITE_BACK,
    PatType.UC_MINUS: MemType.STRONGLY_ORDERED,
}


@dataclass(frozen=True, slots=True)
class X86MmuState:
    """The registers the walk depends on."""

    cr0: int
    cr3: int
    cr4: int
    efer: int = 0
    pat: int = PAT_RESET_VALUE
    # Small-page attributes walks under these registers have decoded (_walk_small_page). A
    # new state, made on every write to one of the registers, starts empty.
    memo: dict[Any, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def from_cpu(cls, read_reg: Callable[[str], int]) -> X86MmuState:
        """`read_reg` takes "CR0", "CR3", "CR4", "EFER" and "PAT"."""
        return cls(*(read_reg(name) for name in ("CR0", "CR3", "CR4", "EFER", "PAT")))

    @property
    def paging(self) -> bool:
        return bool(self.cr0 & X86_CR0_PG)

    @property
    def pae(self) -> bool:
        return bool(self.cr4 & X86_CR4_PAE)

    @property
    def nx(self) -> bool:
        """XD bits are honoured (and bit 63 is not reserved): PAE paging with EFER.NXE."""
        return self.pae and bool(self.efer & EFER_NXE)


# Design: the walk is split in two. `_descend` follows the tables for one address exactly as
# the SDM's walk does — read an entry, stop at not-present, stop at a reserved bit, stop at a
# leaf — and returns every entry it used. `walk` then applies the access rights of the
# combined entries for one privilege level and access, and only a walk that succeeds writes
# the accessed flags (every entry that has one, root first: PAE PDPTEs have none) and, for a
# write, the leaf's dirty flag, each only when it changes. A walk that faults writes nothing.
#
# The TLB entry a fill makes is read-only while the leaf's D flag is clear, even where the
# page is writable: the first write through it then misses and re-walks, and that walk sets
# D. Hardware has the same duty (the first write sets D in memory even when the translation
# is cached, SDM §4.8), and QEMU meets it the same way (`prot &= ~PAGE_WRITE` until dirty).


@dataclass(frozen=True, slots=True)
class _Entry:
    addr: int
    value: int
    has_a: bool  # PAE PDPTEs have no accessed flag


@dataclass(frozen=True, slots=True)
class _Leaf:
    entries: tuple[_Entry, ...]
    page_size: int
    frame: int  # physical base of the page

    @property
    def pte(self) -> int:
        return self.entries[-1].value


@dataclass(frozen=True, slots=True)
class _Stop:
    level: int
    kind: str  # "translation" or "reserved"
    message: str


_LEVEL_NAMES = {False: ("PDE", "PTE"), True: ("PDPTE", "PDE", "PTE")}


def _descend(state: X86MmuState, vaddr: int, read_phys: ReadPhys) -> _Leaf | _Stop:
    pae = state.pae
    names = _LEVEL_NAMES[pae]
    rsvd_nx = 0 if state.nx else _PAGE_NX
    shifts: tuple[int, ...]
    if pae:
        table, shifts, size = state.cr3 & 0xFFFF_FFE0, (30, 21, 12), 8
    else:
        table, shifts, size = state.cr3 & _ADDR_4K, (22, 12), 4
    entries: list[_Entry] = []
    for level, shift in enumerate(shifts, start=1):
        nbits = 2 if level == 1 and pae else (10 if size == 4 else 9)
        addr = table + ((vaddr >> shift) & ((1 << nbits) - 1)) * size
        value = read_phys(addr, size)
        name = names[level - 1]
        if not value & _PAGE_PRESENT:
            return _Stop(level, "translation", f"{name} not present")
        pdpte = pae and level == 1
        if pae:
            rsvd = _RSVD_PDPTE if pdpte else _RSVD_PAE_HIGH | rsvd_nx
            if shift == 21 and value & _PAGE_PSE:
                rsvd |= _RSVD_PAE_2M
        else:
            large = shift == 22 and value & _PAGE_PSE and state.cr4 & X86_CR4_PSE
            rsvd = _RSVD_PSE_4M if large else 0
        if value & rsvd:
            return _Stop(level, "reserved", f"{name} {value:#x}: reserved bits {value & rsvd:#x}")
        entries.append(_Entry(addr, value, has_a=not pdpte))
        last = shift == 12 or (value & _PAGE_PSE and (pae or state.cr4 & X86_CR4_PSE) and not pdpte)
        if last:
            page_size = 1 << shift
            return _Leaf(tuple(entries), page_size, value & _ADDR_4K & ~(page_size - 1))
        table = value & _ADDR_4K
    raise AssertionError("unreachable: the last level is always a leaf")


def _rights(state: X86MmuState, leaf: _Leaf) -> tuple[bool, bool, bool]:
    """(writable, user, execute-disabled) combined over every level: R/W and U/S must be set
    in all entries (PAE PDPTEs have neither), XD in any one disables fetches (SDM §4.6)."""
    used = leaf.entries[1:] if state.pae else leaf.entries
    both = _PAGE_RW | _PAGE_USER
    anded = both
    ored = 0
    for e in used:
        anded &= e.value
        ored |= e.value
    return bool(anded & _PAGE_RW), bool(anded & _PAGE_USER), state.nx and bool(ored & _PAGE_NX)


def _prot(state: X86MmuState, leaf: _Leaf, user: bool) -> int:
    """PROT_* the privilege has (SDM §4.6.1), before the dirty-flag rule; 0 = no access."""
    writable, user_page, xd = _rights(state, leaf)
    if user and not user_page:
        return 0
    prot = PROT_READ
    if writable or (not user and not state.cr0 & X86_CR0_WP):
        prot |= PROT_WRITE
    if not xd and (user or not (user_page and state.cr4 & X86_CR4_SMEP)):
        prot |= PROT_EXEC
    return prot


def _memtype(state: X86MmuState, leaf: _Leaf) -> MemType:
    pte = leaf.pte
    pat_bit = _PAGE_PAT if leaf.page_size == 4096 else _PAGE_PAT_LARGE
    index = (4 if pte & pat_bit else 0) | (2 if pte & _PAGE_PCD else 0) | (pte >> 3 & 1)
    pat_type = (state.pat >> (8 * index)) & 7
    # Encodings 2 and 3 are reserved (wrmsr #GPs); should one be seen, treat it as UC.
    return _PAT_MEMTYPE.get(pat_type, MemType.STRONGLY_ORDERED)


def _translation(
    state: X86MmuState, vaddr: int, leaf: _Leaf, prot: int, page_base: bool = False
) -> Translation:
    offset = 0 if page_base else vaddr & (leaf.page_size - 1)
    return Translation(
        vaddr=vaddr,
        paddr=leaf.frame | offset,
        page_size=leaf.page_size,
        prot=prot,
        memtype=_memtype(state, leaf),
        global_=bool(state.cr4 & X86_CR4_PGE and leaf.pte & _PAGE_GLOBAL),
        level=len(leaf.entries),
    )


def _error_code(state: X86MmuState, access: AccessType, user: bool, extra: int) -> int:
    """The #PF error code (SDM §4.7); built only when a walk faults."""
    code = int(extra)
    if access is AccessType.WRITE:
        code |= _PF_WRITE
    if user:
        code |= _PF_USER
    if access is AccessType.FETCH and (state.nx or state.cr4 & X86_CR4_SMEP):
        code |= _PF_INSTR
    return code


# (plain ints: IntFlag arithmetic would cost more than the rest of a demand fault's walk)
_PF_WRITE, _PF_USER = int(X86PfErrorCode.WRITE), int(X86PfErrorCode.USER)
_PF_INSTR = int(X86PfErrorCode.INSTR)


def walk(
    state: X86MmuState,
    vaddr: int,
    access: AccessType,
    user: bool,
    read_phys: ReadPhys,
    write_phys: WritePhys | None,
) -> Translation | WalkFault:
    """Translate `vaddr` for one access at CPL 3 (`user`) or CPL 0-2, as a TLB miss does.

    `write_phys` receives the accessed/dirty updates; None makes a side-effect-free probe
    (a debugger's view) that returns what the walk would, without writing.
    """
    vaddr &= 0xFFFF_FFFF
    if not state.paging:
        everything = PROT_READ | PROT_WRITE | PROT_EXEC
        return Translation(vaddr, vaddr, 4096, everything, MemType.WRITE_BACK)
    if not state.pae:
        fast = _walk_small_page(state, vaddr, access, user, read_phys, write_phys)
        if fast is not None:
            return fast
    found = _descend(state, vaddr, read_phys)
    if isinstance(found, _Stop):
        extra = X86PfErrorCode.PROT | X86PfErrorCode.RSVD if found.kind == "reserved" else 0
        code = _error_code(state, access, user, extra)
        return WalkFault(vaddr, access, code, found.kind, found.level, found.message)
    prot = _prot(state, found, user)
    if not prot & access.prot:
        who = "user" if user else "kernel"
        why = f"{who}: supervisor page" if prot == 0 else f"{who}: {access.value} not permitted"
        code = _error_code(state, access, user, X86PfErrorCode.PROT)
        return WalkFault(vaddr, access, code, "permission", len(found.entries), why)
    if write_phys is not None:
        for entry in found.entries:
            bits = _PAGE_ACCESSED if entry.has_a else 0
            if entry is found.entries[-1] and access is AccessType.WRITE:
                bits |= _PAGE_DIRTY
            if bits & ~entry.value:  # a 4-byte store, as QEMU's: the flags are in the low word
                write_phys(entry.addr, 4, (entry.value | bits) & 0xFFFF_FFFF)
    if not found.pte & _PAGE_DIRTY and access is not AccessType.WRITE:
        prot &= ~PROT_WRITE  # read-only until dirty: the first write re-walks and sets D
    return _translation(state, vaddr, found, prot)


def _walk_small_page(
    state: X86MmuState,
    vaddr: int,
    access: AccessType,
    user: bool,
    read_phys: ReadPhys,
    write_phys: WritePhys | None,
) -> Translation | WalkFault | None:
    """The common non-PAE walk: a present page-table PDE, then a 4 KiB page the access may
    use, or a PTE that is not present (a demand fault). The rights and memory type a pair of
    entries gives are decoded once per register state and kept in `state.memo`; accessed and
    dirty flags are set as `walk` sets them. None: anything else (4 MiB pages, a PDE not
    present, faults on rights), which the full walk handles from the start."""
    pde_addr = (state.cr3 & _ADDR_4K) + (vaddr >> 22) * 4
    pde = read_phys(pde_addr, 4)
    if not pde & _PAGE_PRESENT or pde & _PAGE_PSE and state.cr4 & X86_CR4_PSE:
        return None
    pte_addr = (pde & _ADDR_4K) + ((vaddr >> 12) & 0x3FF) * 4
    pte = read_phys(pte_addr, 4)
    if not pte & _PAGE_PRESENT:
        code = _error_code(state, access, user, 0)
        return WalkFault(vaddr, access, code, "translation", 2, "PTE not present")
    key = (pde & (_PAGE_RW | _PAGE_USER), pte & 0xFFF, user)
    attrs = state.memo.get(key)
    if attrs is None:
        leaf = _Leaf((_Entry(pde_addr, pde, True), _Entry(pte_addr, pte, True)), 4096, 0)
        global_ = bool(state.cr4 & X86_CR4_PGE and pte & _PAGE_GLOBAL)
        attrs = state.memo[key] = (_prot(state, leaf, user), _memtype(state, leaf), global_)
    prot, memtype, global_ = attrs
    if not prot & access.prot:
        return None  # the full walk finds the fault
    if write_phys is not None:
        if not pde & _PAGE_ACCESSED:
            write_phys(pde_addr, 4, pde | _PAGE_ACCESSED)
        bits = _PAGE_ACCESSED | _PAGE_DIRTY if access is AccessType.WRITE else _PAGE_ACCESSED
        if bits & ~pte:
            write_phys(pte_addr, 4, pte | bits)
    if not pte & _PAGE_DIRTY and access is not AccessType.WRITE:
        prot &= ~PROT_WRITE
    return Translation(vaddr, (pte & _ADDR_4K) | (vaddr & 0xFFF), 4096, prot, memtype, global_, 2)


# -- enumeration and /sys/kernel/debug/page_tables-style dump --------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    """One table slot in address order, as Linux's ptdump sees it (mm/ptdump.c)."""

    vaddr: int
    level: int  # ptdump's level: 2 pud, 3 pmd, 4 pte
    value: int  # 0 for a hole (a not-present entry)
    leaf: _Leaf | None  # None for holes and entries with reserved bits


def _slots(state: X86MmuState, read_phys: ReadPhys) -> Iterator[_Slot]:
    def lookup(va: int) -> _Leaf | None:
        found = _descend(state, va, read_phys)
        return found if isinstance(found, _Leaf) else None

    if state.pae:
        base = state.cr3 & 0xFFFF_FFE0
        for i in range(4):
            pdpte = read_phys(base + 8 * i, 8)
            if not pdpte & _PAGE_PRESENT:
                yield _Slot(i << 30, 2, 0, None)
                continue
            yield from _pd_slots(state, i << 30, pdpte & _ADDR_4K, 512, 21, 8, read_phys, lookup)
    else:
        yield from _pd_slots(state, 0, state.cr3 & _ADDR_4K, 1024, 22, 4, read_phys, lookup)


def _pd_slots(
    state: X86MmuState,
    start: int,
    pd: int,
    count: int,
    shift: int,
    size: int,
    read_phys: ReadPhys,
    lookup: Callable[[int], _Leaf | None],
) -> Iterator[_Slot]:
    for i in range(count):
        va = start + (i << shift)
        pde = read_phys(pd + size * i, size)
        if not pde & _PAGE_PRESENT:
            yield _Slot(va, 3, 0, None)
        elif pde & _PAGE_PSE and (state.pae or state.cr4 & X86_CR4_PSE):
            yield _Slot(va, 3, pde, lookup(va))
        else:
            pt = pde & _ADDR_4K
            for j in range(count):
                pte = read_phys(pt + size * j, size)
                pva = va + (j << 12)
                present = pte & _PAGE_PRESENT
                yield _Slot(pva, 4, pte if present else 0, lookup(pva) if present else None)


def mappings(state: X86MmuState, read_phys: ReadPhys, user: bool = False) -> Iterator[Translation]:
    """Every valid mapping, one per final entry, in address order: `vaddr`/`paddr` are the
    page's bases and `prot` what the privilege may do (mappings it may not touch are left
    out). The dirty-flag rule of `walk` is a TLB detail and is not applied."""
    if not state.paging:
        return
    for slot in _slots(state, read_phys):
        if slot.leaf is not None and (prot := _prot(state, slot.leaf, user)):
            yield _translation(state, slot.vaddr, slot.leaf, prot, page_base=True)


_LEVEL_NAME = ("pgd", "p4d", "pud", "pmd", "pte")


def _flags_text(value: int, level: int) -> str:
    """printk_prot() of arch/x86/mm/dump_pagetables.c."""
    if not value & _PAGE_PRESENT:
        return " " * 30
    large = level in (2, 3) and value & _PAGE_PSE
    pat = (level == 4 and value & _PAGE_PAT) or (large and value & _PAGE_PAT_LARGE)
    return "".join(
        (
            "USR " if value & _PAGE_USER else "    ",
            "RW " if value & _PAGE_RW else "ro ",
            "PWT " if value & _PAGE_PWT else "    ",
            "PCD " if value & _PAGE_PCD else "    ",
            "PSE " if large else "    ",
            "PAT " if pat else "    ",
            "GLB " if value & _PAGE_GLOBAL else "    ",
            "NX " if value & _PAGE_NX else "x  ",
        )
    )


def _size_text(delta: int) -> str:
    units = "BKMGTPE"
    unit = 0
    while delta and not delta & 1023 and unit < len(units) - 1:
        delta >>= 10
        unit += 1
    return f"{delta:9d}{units[unit]} "


def dump(
    state: X86MmuState,
    read_phys: ReadPhys,
    markers: Sequence[tuple[int, str]] = ((0, "User Space"),),
) -> str:
    """The tables as Linux's /sys/kernel/debug/page_tables/kernel prints them
    (arch/x86/mm/dump_pagetables.c note_page()/printk_prot() over mm/ptdump.c's walk).

    Adjacent slots merge while level, printed flags and effective USR/RW/NX agree (Linux
    also splits on A, D and software bits, giving identical-looking lines). `markers` are
    (start address, name) headers such as Linux's "Kernel Mapping" at PAGE_OFFSET. As on a
    32-bit kernel, the last range's end wraps to 0x00000000.
    """
    if not state.paging:
        return ""
    out: list[str] = []
    pending = sorted(markers)
    cur: tuple[int, int, int] | None = None  # (level, printed flags, effective)
    start = 0

    def flush(end: int) -> None:
        assert cur is not None
        out.append(f"0x{start:08x}-0x{end & 0xFFFF_FFFF:08x}   {_size_text(end - start)}")
        out[-1] += _flags_text(cur[1], cur[0]) + _LEVEL_NAME[cur[0]]

    for slot in _slots(state, read_phys):
        value = slot.value & (0xFFF | _PAGE_NX | (_PAGE_PAT_LARGE if slot.level < 4 else 0))
        eff = 0
        if slot.leaf is not None:
            writable, user_page, xd = _rights(state, slot.leaf)
            eff = (_PAGE_RW if writable else 0) | (_PAGE_USER if user_page else 0)
            eff |= _PAGE_NX if xd else 0
        key = (slot.level, value & ~(_PAGE_ACCESSED | _PAGE_DIRTY | 0xE00), eff)
        crossing = bool(pending) and slot.vaddr >= pending[0][0]
        if cur is None or key != cur or crossing:
            if cur is not None:
                flush(slot.vaddr)
            while pending and slot.vaddr >= pending[0][0]:
                out.append(f"---[ {pending.pop(0)[1]} ]---")
            cur, start = key, slot.vaddr
    flush(1 << 32)
    return "\n".join(out) + "\n"
