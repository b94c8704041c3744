"""The x86-32 page-table walker: unit tests from the Intel SDM (vol. 3A ch. 4, §11.12), and a
differential test against Unicorn's own walker (QEMU's target/i386 handle_mmu_fault, reached
through uc_vmem_translate) on random tables."""

from __future__ import annotations

import ctypes
import struct
import unittest.mock
from dataclasses import dataclass, field

import pytest
import unicorn
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X
from unicorn.unicorn_py3 import unicorn as _ucbinding

from emulator.mmu import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    AccessType,
    MemType,
    Translation,
    WalkFault,
    x86,
)
from emulator.mmu.x86 import (
    EFER_NXE,
    PAT_RESET_VALUE,
    X86_CR0_PG,
    X86_CR0_WP,
    X86_CR4_PAE,
    X86_CR4_PGE,
    X86_CR4_PSE,
    X86_CR4_SMEP,
    X86MmuState,
    X86PfErrorCode,
    dump,
    mappings,
    walk,
)

READ, WRITE, FETCH = AccessType.READ, AccessType.WRITE, AccessType.FETCH
P, RW, US, PWT, PCD, A, D, PS, G = 1, 2, 4, 8, 16, 32, 64, 128, 256
PAT4K, PAT_LARGE, NX = 1 << 7, 1 << 12, 1 << 63
PF_PROT, PF_WRITE, PF_USER, PF_RSVD, PF_INSTR = (int(f) for f in X86PfErrorCode)
CR0_PE = 1
LINUX_PAT = 0x0407_0506_0007_0106  # pat_bp_init: WB WC UC- UC WB WP UC- WT
LINUX_PAT_ERRATA = 0x0007_0106_0007_0106  # WB WC UC- UC, twice

PD, PT, PDPT, PAE_PD, PAE_PT = 0x1000, 0x2000, 0x3000, 0x4000, 0x5000
FRAME = 0x0012_3000


class Ram:
    """Sparse little-endian physical memory that records the walker's writes."""

    def __init__(self) -> None:
        self.mem: dict[int, int] = {}
        self.writes: list[tuple[int, int, int]] = []

    def put(self, addr: int, value: int, size: int = 4) -> None:
        for i in range(size):
            self.mem[addr + i] = (value >> (8 * i)) & 0xFF

    def read(self, addr: int, size: int) -> int:
        return sum(self.mem.get(addr + i, 0) << (8 * i) for i in range(size))

    def write(self, addr: int, size: int, value: int) -> None:
        self.writes.append((addr, size, value))
        self.put(addr, value, size)


def state32(cr4: int = 0, cr0: int = 0, pat: int = PAT_RESET_VALUE) -> X86MmuState:
    return X86MmuState(cr0=X86_CR0_PG | CR0_PE | cr0, cr3=PD, cr4=cr4, efer=0, pat=pat)


def state_pae(efer: int = EFER_NXE, cr4: int = 0, cr0: int = 0) -> X86MmuState:
    return X86MmuState(X86_CR0_PG | CR0_PE | cr0, PDPT, X86_CR4_PAE | cr4, efer, PAT_RESET_VALUE)


def map4k(ram: Ram, va: int, pte: int, pde: int = P | RW | US) -> None:
    ram.put(PD + (va >> 22) * 4, PT | pde)
    ram.put(PT + ((va >> 12) & 0x3FF) * 4, pte)


def map_pae(ram: Ram, va: int, leaf: int, pde: int = P | RW | US, large: bool = False) -> None:
    ram.put(PDPT + (va >> 30) * 8, PAE_PD | P, 8)
    pde_addr = PAE_PD + ((va >> 21) & 0x1FF) * 8
    if large:
        ram.put(pde_addr, leaf | PS, 8)
    else:
        ram.put(pde_addr, PAE_PT | pde, 8)
        ram.put(PAE_PT + ((va >> 12) & 0x1FF) * 8, leaf, 8)


def tr(
    state: X86MmuState, ram: Ram, va: int, access: AccessType = READ, user: bool = False
) -> Translation | WalkFault:
    return walk(state, va, access, user, ram.read, ram.write)


def ok(result: Translation | WalkFault) -> Translation:
    assert isinstance(result, Translation), result
    return result


def fault(result: Translation | WalkFault) -> WalkFault:
    assert isinstance(result, WalkFault), result
    return result


# -- translation -----------------------------------------------------------------------------


def test_paging_off_is_flat_write_back_with_every_permission() -> None:
    t = ok(walk(X86MmuState(CR0_PE, 0, 0), 0xC012_3456, WRITE, True, Ram().read, None))
    assert (t.paddr, t.prot, t.memtype) == (0xC012_3456, 7, MemType.WRITE_BACK)


def test_4k_page_translates_through_pde_and_pte() -> None:
    ram = Ram()
    map4k(ram, 0x0040_5000, FRAME | P | RW | D)
    t = ok(tr(state32(), ram, 0x0040_5ABC))
    assert (t.paddr, t.page_size, t.level) == (FRAME | 0xABC, 4096, 2)
    assert t.prot == PROT_READ | PROT_WRITE | PROT_EXEC and t.memtype is MemType.WRITE_BACK


def test_4m_page_needs_cr4_pse() -> None:
    ram = Ram()
    ram.put(PD + 0x300 * 4, 0x0080_0000 | P | RW | PS)
    t = ok(tr(state32(X86_CR4_PSE), ram, 0xC012_3456))
    assert (t.paddr, t.page_size, t.level) == (0x0092_3456, 4 << 20, 1)
    # Without CR4.PSE the PS bit is ignored: the PDE points at a page table at 0x800000.
    ram.put(0x0080_0000 + 0x123 * 4, FRAME | P)
    assert ok(tr(state32(), ram, 0xC012_3456)).paddr == FRAME | 0x456


@pytest.mark.parametrize("bit", range(13, 22))
def test_4m_page_bits_21_13_are_reserved_with_32_bit_physical_addresses(bit: int) -> None:
    ram = Ram()
    ram.put(PD, P | RW | PS | (1 << bit))
    f = fault(tr(state32(X86_CR4_PSE), ram, 0x1000))
    assert (f.kind, f.status, f.level) == ("reserved", PF_PROT | PF_RSVD, 1)


def test_4m_page_pat_bit_12_is_not_reserved() -> None:
    ram = Ram()
    ram.put(PD, P | PS | PAT_LARGE)
    assert ok(tr(state32(X86_CR4_PSE), ram, 0x1000)).paddr == 0x1000


def test_pae_4k_page_walks_pdpte_pde_pte() -> None:
    ram = Ram()
    map_pae(ram, 0xC030_5000, FRAME | P | RW)
    t = ok(tr(state_pae(), ram, 0xC030_5123))
    assert (t.paddr, t.page_size, t.level) == (FRAME | 0x123, 4096, 3)


def test_pae_2m_page_ignores_cr4_pse() -> None:
    ram = Ram()
    map_pae(ram, 0x4060_0000, 0x0140_0000 | P | RW | US, large=True)
    t = ok(tr(state_pae(), ram, 0x4071_2345, user=True))
    assert (t.paddr, t.page_size, t.level) == (0x0151_2345, 2 << 20, 2)


@pytest.mark.parametrize("bit", [13, 20])
def test_pae_2m_page_bits_20_13_are_reserved(bit: int) -> None:
    ram = Ram()
    map_pae(ram, 0, 0x0020_0000 | P | (1 << bit), large=True)
    f = fault(tr(state_pae(), ram, 0, WRITE))
    assert (f.kind, f.status, f.level) == ("reserved", PF_PROT | PF_RSVD | PF_WRITE, 2)


@pytest.mark.parametrize("bit", [32, 39, 51, 52, 62])
@pytest.mark.parametrize("level", [2, 3])
def test_pae_bits_62_32_are_reserved(bit: int, level: int) -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P | (1 << bit if level == 3 else 0), pde=P | (1 << bit) * (level == 2))
    f = fault(tr(state_pae(), ram, 0))
    assert (f.kind, f.status, f.level) == ("reserved", PF_PROT | PF_RSVD, level)


@pytest.mark.parametrize("bit", [1, 2, 5, 6, 7, 8, 32, 63])
def test_pdpte_reserved_bits(bit: int) -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P)
    ram.put(PDPT, PAE_PD | P | (1 << bit), 8)
    f = fault(tr(state_pae(), ram, 0))
    assert (f.kind, f.status, f.level) == ("reserved", PF_PROT | PF_RSVD, 1)


def test_pdpte_pwt_pcd_and_software_bits_are_allowed() -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P)
    ram.put(PDPT, PAE_PD | P | PWT | PCD | 0xE00, 8)
    assert ok(tr(state_pae(), ram, 0)).paddr == FRAME


def test_not_present_entries_fault_at_their_level() -> None:
    ram = Ram()
    f = fault(tr(state32(), ram, 0x1000))
    assert (f.kind, f.status, f.level) == ("translation", 0, 1)
    map4k(ram, 0x1000, FRAME)
    assert fault(tr(state32(), ram, 0x1000)).level == 2
    f = fault(tr(state_pae(), ram, 0xC000_0000))
    assert (f.kind, f.level) == ("translation", 1)


# -- access rights ---------------------------------------------------------------------------


def test_nx_blocks_fetch_only_with_pae_and_efer_nxe() -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P | RW | US | D | NX)
    t = ok(tr(state_pae(), ram, 0))
    assert t.prot == PROT_READ | PROT_WRITE
    f = fault(tr(state_pae(), ram, 0, FETCH, user=True))
    assert (f.kind, f.status) == ("permission", PF_PROT | PF_USER | PF_INSTR)


def test_nx_without_efer_nxe_is_a_reserved_bit() -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P | NX)
    f = fault(tr(state_pae(efer=0), ram, 0, FETCH))
    assert (f.kind, f.status) == ("reserved", PF_PROT | PF_RSVD)  # no I/D without NXE


def test_nx_in_the_pde_covers_every_pte_below() -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P, pde=P | RW | NX)
    assert ok(tr(state_pae(), ram, 0)).prot == PROT_READ
    assert fault(tr(state_pae(), ram, 0, FETCH)).kind == "permission"


@pytest.mark.parametrize(("pde", "pte"), [(P | RW, P | RW | US), (P | RW | US, P | RW)])
def test_user_needs_us_at_every_level(pde: int, pte: int) -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | pte, pde)
    f = fault(tr(state32(), ram, 0, READ, user=True))
    assert (f.kind, f.status, f.level) == ("permission", PF_PROT | PF_USER, 2)
    assert ok(tr(state32(), ram, 0)).prot & PROT_READ  # the kernel may


@pytest.mark.parametrize(("pde", "pte"), [(P | US, P | RW | US), (P | RW | US, P | US)])
def test_user_write_needs_rw_at_every_level(pde: int, pte: int) -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | pte | D, pde)
    assert ok(tr(state32(), ram, 0, READ, user=True)).prot == PROT_READ | PROT_EXEC
    f = fault(tr(state32(), ram, 0, WRITE, user=True))
    assert (f.kind, f.status) == ("permission", PF_PROT | PF_WRITE | PF_USER)


def test_supervisor_writes_to_read_only_pages_only_without_cr0_wp() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | D)
    assert ok(tr(state32(), ram, 0, WRITE)).prot & PROT_WRITE
    f = fault(tr(state32(cr0=X86_CR0_WP), ram, 0, WRITE))
    assert (f.kind, f.status) == ("permission", PF_PROT | PF_WRITE)


def test_smep_blocks_supervisor_fetch_from_user_pages() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | US)
    assert ok(tr(state32(), ram, 0, FETCH)).prot & PROT_EXEC
    f = fault(tr(state32(X86_CR4_SMEP), ram, 0, FETCH))
    assert (f.kind, f.status) == ("permission", PF_PROT | PF_INSTR)
    assert ok(tr(state32(X86_CR4_SMEP), ram, 0, FETCH, user=True)).prot & PROT_EXEC


# -- the #PF error code ----------------------------------------------------------------------

ERROR_CODES = [
    # (mode, pte, access, user, error code)
    ("32", 0, READ, False, 0),
    ("32", 0, WRITE, True, PF_WRITE | PF_USER),
    ("32", 0, FETCH, False, 0),  # no I/D: no NX without PAE, no SMEP
    ("32+smep", 0, FETCH, True, PF_USER | PF_INSTR),
    ("pae", 0, FETCH, False, PF_INSTR),
    ("pae-nonxe", 0, FETCH, False, 0),
    ("32", P, READ, True, PF_PROT | PF_USER),
    ("32", P | US, WRITE, True, PF_PROT | PF_WRITE | PF_USER),
    ("pae", P | US | NX, FETCH, True, PF_PROT | PF_USER | PF_INSTR),
    ("pae", P | (1 << 40), WRITE, False, PF_PROT | PF_RSVD | PF_WRITE),
    ("pae", P | (1 << 40), FETCH, True, PF_PROT | PF_RSVD | PF_USER | PF_INSTR),
]


@pytest.mark.parametrize(("mode", "pte", "access", "user", "code"), ERROR_CODES)
def test_page_fault_error_code_bits(
    mode: str, pte: int, access: AccessType, user: bool, code: int
) -> None:
    ram = Ram()
    if mode.startswith("32"):
        map4k(ram, 0, FRAME | pte if pte else 0)
        state = state32(X86_CR4_SMEP if mode == "32+smep" else 0)
    else:
        map_pae(ram, 0, FRAME | pte if pte else 0)
        state = state_pae(efer=0 if mode == "pae-nonxe" else EFER_NXE)
    f = fault(tr(state, ram, 0x0000_0ABC, access, user))
    assert (f.status, f.vaddr, f.access) == (code, 0xABC, access)


# -- accessed and dirty flags ----------------------------------------------------------------


def test_read_sets_accessed_in_pde_and_pte_but_not_dirty() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | RW)
    tr(state32(), ram, 0)
    assert ram.read(PD, 4) == PT | P | RW | US | A
    assert ram.read(PT, 4) == FRAME | P | RW | A


def test_clean_page_is_read_only_until_the_first_write() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | RW)
    assert ok(tr(state32(), ram, 0)).prot == PROT_READ | PROT_EXEC
    assert ok(tr(state32(), ram, 0, WRITE)).prot == PROT_READ | PROT_WRITE | PROT_EXEC
    assert ram.read(PT, 4) == FRAME | P | RW | A | D
    assert ok(tr(state32(), ram, 0)).prot == PROT_READ | PROT_WRITE | PROT_EXEC


def test_flags_are_written_only_when_they_change() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | RW)
    tr(state32(), ram, 0)
    assert len(ram.writes) == 2
    tr(state32(), ram, 0, FETCH)
    tr(state32(), ram, 0, WRITE)
    assert ram.writes[2:] == [(PT, 4, FRAME | P | RW | A | D)]


def test_large_page_dirty_flag_is_in_the_pde() -> None:
    ram = Ram()
    ram.put(PD, P | RW | PS)
    tr(state32(X86_CR4_PSE), ram, 0x1234, WRITE)
    assert ram.writes == [(PD, 4, P | RW | PS | A | D)]


def test_pae_pdpte_has_no_accessed_flag() -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P | RW)
    tr(state_pae(), ram, 0, WRITE)
    assert [w[0] for w in ram.writes] == [PAE_PD, PAE_PT]
    assert ram.read(PDPT, 8) == PAE_PD | P


def test_pae_flag_update_keeps_the_high_half() -> None:
    ram = Ram()
    map_pae(ram, 0, FRAME | P | RW | NX)
    tr(state_pae(), ram, 0, WRITE)
    assert ram.read(PAE_PT, 8) == FRAME | P | RW | NX | A | D


def test_faulting_walk_writes_nothing() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P)
    fault(tr(state32(cr0=X86_CR0_WP), ram, 0, WRITE))
    fault(tr(state32(), ram, 0x1000))
    assert ram.writes == []


def test_probe_without_write_phys_writes_nothing() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | RW)
    t = ok(walk(state32(), 0, WRITE, False, ram.read, None))
    assert t.prot & PROT_WRITE and ram.writes == [] and ram.read(PT, 4) == FRAME | P | RW


# -- memory types and global -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "memtype"),
    [
        (0, MemType.WRITE_BACK),
        (PWT, MemType.WRITE_THROUGH),
        (PCD, MemType.STRONGLY_ORDERED),  # UC-
        (PCD | PWT, MemType.STRONGLY_ORDERED),  # UC
        (PAT4K, MemType.WRITE_BACK),
    ],
)
def test_reset_pat_gives_the_legacy_pcd_pwt_types(bits: int, memtype: MemType) -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | bits)
    assert ok(tr(state32(), ram, 0)).memtype is memtype


@pytest.mark.parametrize(
    ("pat", "bits", "memtype"),
    [
        (LINUX_PAT_ERRATA, PWT, MemType.NORMAL_NC),  # _PAGE_CACHE_MODE_WC
        (LINUX_PAT, PWT, MemType.NORMAL_NC),
        (LINUX_PAT, PCD, MemType.STRONGLY_ORDERED),
        (LINUX_PAT, PAT4K | PWT, MemType.WRITE_THROUGH),  # WP
        (LINUX_PAT, PAT4K | PCD | PWT, MemType.WRITE_THROUGH),  # WT
    ],
)
def test_linux_pat_setup(pat: int, bits: int, memtype: MemType) -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | bits)
    assert ok(tr(state32(pat=pat), ram, 0)).memtype is memtype


def test_large_page_pat_bit_is_bit_12() -> None:
    ram = Ram()
    ram.put(PD, P | PS | PAT_LARGE | PWT)  # index 5: WP in Linux's PAT
    assert ok(tr(state32(X86_CR4_PSE, pat=LINUX_PAT), ram, 0)).memtype is MemType.WRITE_THROUGH
    ram.put(PD, P | PS | PWT)  # bit 7 is PS here, not PAT: index 1, WC
    assert ok(tr(state32(X86_CR4_PSE, pat=LINUX_PAT), ram, 0)).memtype is MemType.NORMAL_NC


def test_global_needs_cr4_pge() -> None:
    ram = Ram()
    map4k(ram, 0, FRAME | P | G)
    assert ok(tr(state32(X86_CR4_PGE), ram, 0)).global_
    assert not ok(tr(state32(), ram, 0)).global_
    map4k(ram, 0x1000, FRAME | P, pde=P | G)  # G of a PDE that points at a table is ignored
    assert not ok(tr(state32(X86_CR4_PGE), ram, 0x1000)).global_


def test_state_from_cpu_reads_the_named_registers() -> None:
    regs = {"CR0": 1, "CR3": 2, "CR4": 3, "EFER": 4, "PAT": 5}
    assert X86MmuState.from_cpu(regs.__getitem__) == X86MmuState(1, 2, 3, 4, 5)


# -- enumeration and dump --------------------------------------------------------------------


def linux_like_tables() -> tuple[Ram, X86MmuState]:
    ram = Ram()
    for i in range(4):
        map4k(ram, i << 12, (0x0010_0000 + (i << 12)) | P | RW | US)
    ram.put(PD + 0x300 * 4, 0x0000_0000 | P | RW | PS | G)
    ram.put(PD + 0x301 * 4, 0x0040_0000 | P | PS | G | A | D)
    ram.put(PD + 0x302 * 4, 0x0080_0000 | P | PS | G)  # merges with the one above: A/D differ
    return ram, state32(X86_CR4_PSE | X86_CR4_PGE, cr0=X86_CR0_WP)


def test_mappings_lists_every_final_entry() -> None:
    ram, state = linux_like_tables()
    ms = list(mappings(state, ram.read))
    assert [(m.vaddr, m.paddr, m.page_size, m.prot) for m in ms] == [
        (0x0000_0000, 0x0010_0000, 4096, 7),
        (0x0000_1000, 0x0010_1000, 4096, 7),
        (0x0000_2000, 0x0010_2000, 4096, 7),
        (0x0000_3000, 0x0010_3000, 4096, 7),
        (0xC000_0000, 0x0000_0000, 4 << 20, 7),
        (0xC040_0000, 0x0040_0000, 4 << 20, 5),
        (0xC080_0000, 0x0080_0000, 4 << 20, 5),
    ]
    assert [m.vaddr for m in mappings(state, ram.read, user=True)] == [0, 0x1000, 0x2000, 0x3000]
    assert ram.writes == []


def test_mappings_of_pae_tables() -> None:
    ram = Ram()
    map_pae(ram, 0xC000_0000, 0x0020_0000 | P | RW | NX, large=True)
    (m,) = mappings(state_pae(), ram.read)
    assert (m.vaddr, m.paddr, m.page_size, m.prot, m.level) == (
        0xC000_0000,
        0x20_0000,
        2 << 20,
        3,
        2,
    )


def test_dump_matches_linux_dump_pagetables_format() -> None:
    ram, state = linux_like_tables()
    text = dump(state, ram.read, markers=((0, "User Space"), (0xC000_0000, "Kernel Mapping")))
    assert text == (
        "---[ User Space ]---\n"
        "0x00000000-0x00004000          16K USR RW                     x  pte\n"
        "0x00004000-0x00400000        4080K                               pte\n"
        "0x00400000-0xc0000000        3068M                               pmd\n"
        "---[ Kernel Mapping ]---\n"
        "0xc0000000-0xc0400000           4M     RW         PSE     GLB x  pmd\n"
        "0xc0400000-0xc0c00000           8M     ro         PSE     GLB x  pmd\n"
        "0xc0c00000-0x00000000        1012M                               pmd\n"
    )


def test_dump_of_pae_tables_names_pud_pmd_pte() -> None:
    ram = Ram()
    map_pae(ram, 0xC000_0000, 0x0020_0000 | P | RW | NX | PAT_LARGE | PCD, large=True)
    lines = dump(state_pae(), ram.read).splitlines()
    assert lines == [
        "---[ User Space ]---",
        "0x00000000-0xc0000000           3G                               pud",
        "0xc0000000-0xc0200000           2M     RW     PCD PSE PAT     NX pmd",
        "0xc0200000-0x00000000        1022M                               pmd",
    ]


# -- differential test against Unicorn's walker ----------------------------------------------
#
# Two Unicorn instances, one at CPL 0 and one at CPL 3 (reached with an iretd), map the same
# host buffer as physical RAM; random tables are written there, and every access is walked
# from the same memory by uc_vmem_translate (after a TLB flush) and by `walk`. Fault-or-not,
# the physical address and the accessed/dirty flags each leaves in the tables must agree.
#
# Corners where QEMU (Unicorn 2.1.4) and the SDM differ are kept out of the generator:
# - a 4 MiB PDE's bits 20:13: QEMU always implements PSE-36 (PA[39:32]); with MAXPHYADDR 32
#   they are reserved.
# - PAE entries' bits 39:32: QEMU's physical address width is 40 bits; here 32, reserved.
# - PDPTE bits 2:1 and 8:5: QEMU ignores them; the SDM reserves them (#GP at mov cr3; the
#   walker reports a RSVD #PF, as it reads PDPTEs per walk).
# And one difference is tolerated in the comparison: on a walk that faults at the PTE, QEMU
# has already set the accessed flag of the PDE (see the test after this one).

RAM_SIZE = 0x40000
POOL, POOL_PAGES = 0x10000, 16
POOL_END = POOL + POOL_PAGES * 0x1000
_uc_translate = _ucbinding.uclib.uc_vmem_translate
_uc_translate.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p]
_uc_translate.restype = ctypes.c_int


def _descriptor(access: int) -> bytes:  # flat 4 GiB segment, 32-bit, 4 KiB granularity
    return struct.pack("<Q", 0xFFFF | (access << 40) | (0xF << 48) | (0xC << 52))


@dataclass
class Oracle:
    ram: ctypes.Array[ctypes.c_ubyte]
    view: memoryview
    cpus: dict[bool, unicorn.Uc] = field(default_factory=dict)

    def read(self, addr: int, size: int) -> int:
        return int.from_bytes(self.view[addr : addr + size], "little") if addr < RAM_SIZE else 0

    def write(self, addr: int, size: int, value: int) -> None:
        self.view[addr : addr + size] = value.to_bytes(size, "little")

    def translate(self, user: bool, va: int, access: AccessType) -> int | None:
        uc = self.cpus[user]
        uc.ctl(unicorn.UC_CTL_TLB_FLUSH, unicorn.UC_CTL_IO_WRITE)
        out = ctypes.c_uint64()
        err = _uc_translate(uc._uch, va, access.prot, ctypes.byref(out))
        return out.value if err == unicorn.UC_ERR_OK else None


@pytest.fixture(scope="module")
def oracle() -> Oracle:
    ram = (ctypes.c_ubyte * RAM_SIZE)()
    o = Oracle(ram, memoryview(ram).cast("B"))
    gdt = b"".join(_descriptor(a) for a in (0, 0x9A, 0x92, 0xFA, 0xF2))
    o.view[0x500 : 0x500 + len(gdt)] = gdt
    o.view[0x600] = 0xCF  # iretd
    o.view[0x800:0x814] = struct.pack("<5I", 0x700, 0x1B, 0x2, 0xF00, 0x23)
    for user in (False, True):
        uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_32)
        uc.mem_map_ptr(0, RAM_SIZE, unicorn.UC_PROT_ALL, ctypes.addressof(ram))
        uc.reg_write(X.UC_X86_REG_GDTR, (0, 0x500, len(gdt) - 1, 0))
        uc.reg_write(X.UC_X86_REG_CS, 0x08)
        uc.reg_write(X.UC_X86_REG_SS, 0x10)
        if user:  # CPL comes from SS's DPL in QEMU; only an iret gets there
            uc.reg_write(X.UC_X86_REG_ESP, 0x800)
            uc.emu_start(0x600, 0x700)
            assert uc.reg_read(X.UC_X86_REG_CS) == 0x1B
        o.cpus[user] = uc
    return o


@dataclass
class Scenario:
    state: X86MmuState
    user: bool
    entries: dict[int, tuple[int, int]]  # address → (value, size)
    accesses: list[tuple[int, AccessType]]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    pae, pse, pge, wp, nxe, smep, user = (draw(st.booleans()) for _ in range(7))
    cr4 = X86_CR4_PAE * pae | X86_CR4_PSE * pse | X86_CR4_PGE * pge | X86_CR4_SMEP * smep
    root = POOL + (32 * draw(st.integers(0, 127)) if pae else 0)
    cr3 = root | draw(st.sampled_from([0, PWT, PCD]))
    state = X86MmuState(X86_CR0_PG | CR0_PE | X86_CR0_WP * wp, cr3, cr4, EFER_NXE * nxe)
    size = 8 if pae else 4
    entries: dict[int, tuple[int, int]] = {}
    # Tables may be shared and may alias each other (a PDE pointing at its own directory),
    # but not the PDPT's page: the accessed flag the walk sets in a PDE or PTE there would
    # be a reserved PDPTE bit that QEMU ignores (see above).
    tables = [] if pae else [POOL]
    fresh = iter(range(POOL + 0x1000, POOL_END, 0x1000))

    def draw_entry(level: int, last_level: int) -> int:
        if draw(st.integers(0, 9)) == 0:
            return draw(st.sampled_from([0, 0xFFFF_FFFE, A | D]))  # not present
        low = draw(st.integers(0, 0xFFF)) | P
        may_be_large = level == last_level - 1 and (pae or pse)
        if level == last_level or (may_be_large and low & PS):  # a page
            addr = draw(st.integers(0, 0xFFFFF)) << 12
            if level != last_level:  # a large page: bits 20:13 reserved (PAE) or PSE-36
                addr &= ~0x1FE000
                if draw(st.integers(0, 7)) == 0:
                    addr |= 1 << draw(st.integers(13, 21) if pae else st.just(21))
        else:
            addr = next(fresh, None) if not tables or draw(st.integers(0, 3)) else None
            if addr is None:
                addr = draw(st.sampled_from(tables))
            else:
                tables.append(addr)
        value = addr | low
        if pae and level == 1:
            value &= ~0x1E6  # bits 2:1 and 8:5, see above
        if pae and draw(st.integers(0, 3)) == 0:
            value |= draw(st.sampled_from([NX, NX, 1 << draw(st.integers(40, 63))]))
        return value

    def build(va: int) -> None:
        shifts = (30, 21, 12) if pae else (22, 12)
        table = root
        for level, shift in enumerate(shifts, start=1):
            index = (va >> shift) & ((4 if pae and level == 1 else 4096 // size) - 1)
            addr = table + index * size
            if addr not in entries:
                entries[addr] = (draw_entry(level, len(shifts)), size)
            value = entries[addr][0]
            if not value & P or not POOL <= value & 0xFFFF_F000 < POOL_END:
                return
            if level == len(shifts) - 1 and value & PS and (pae or pse):
                return
            table = value & 0xFFFF_F000

    vas = [draw(st.integers(0, 0xFFFF_FFFF))]
    for _ in range(draw(st.integers(0, 3))):
        vas.append(vas[-1] ^ (1 << draw(st.integers(12, 31))))
    for va in vas:
        build(va)
    accesses = draw(
        st.lists(
            st.tuples(st.sampled_from(vas), st.sampled_from([READ, WRITE, FETCH])),
            min_size=1,
            max_size=8,
        )
    )
    return Scenario(state, user, entries, accesses)


def _differences(before: bytes, after: bytes) -> dict[int, int]:
    """{physical byte address: changed bits}"""
    if before == after:
        return {}
    diff, out = int.from_bytes(before, "little") ^ int.from_bytes(after, "little"), {}
    while diff:
        byte = ((diff & -diff).bit_length() - 1) // 8
        out[POOL + byte] = (diff >> (8 * byte)) & 0xFF
        diff &= ~(0xFF << (8 * byte))
    return out


@settings(
    max_examples=2000,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_walker_agrees_with_unicorn(oracle: Oracle, scenario: Scenario) -> None:
    ctypes.memset(ctypes.addressof(oracle.ram) + POOL, 0, POOL_END - POOL)
    for addr, (value, size) in scenario.entries.items():
        oracle.write(addr, size, value)
    s, uc = scenario.state, oracle.cpus[scenario.user]
    uc.reg_write(X.UC_X86_REG_MSR, (0xC000_0080, s.efer))
    uc.reg_write(X.UC_X86_REG_CR3, s.cr3)
    uc.reg_write(X.UC_X86_REG_CR4, s.cr4)
    uc.reg_write(X.UC_X86_REG_CR0, s.cr0)
    read: list[int] = []  # entry addresses our walk read

    def read_phys(addr: int, size: int) -> int:
        read.append(addr)
        return oracle.read(addr, size)

    for va, access in scenario.accesses:
        before = bytes(oracle.view[POOL:POOL_END])
        theirs = oracle.translate(scenario.user, va, access)
        their_flags = _differences(before, bytes(oracle.view[POOL:POOL_END]))
        oracle.view[POOL:POOL_END] = before
        read.clear()
        ours = walk(s, va, access, scenario.user, read_phys, oracle.write)
        our_flags = _differences(before, bytes(oracle.view[POOL:POOL_END]))
        where = f"{access.value} {va:#010x} with {s} user={scenario.user}: {ours}"
        mode = "pae" if s.pae else "32"
        if isinstance(ours, Translation):
            event(f"{mode} {ours.page_size >> 10}K {access.value} flags={bool(our_flags)}")
        else:
            event(f"{mode} {ours.kind} level {ours.level} qemu-extra-A={bool(their_flags)}")
        if isinstance(ours, Translation):
            assert theirs == ours.paddr, where
            assert their_flags == our_flags, where
        else:
            if ours.kind == "reserved" and not s.pae and theirs is not None:
                # A self-aliasing table can present a PTE (bit 7 = PAT) as a 4 MiB PDE whose
                # bits 20:13 are set: reserved with MAXPHYADDR 32, PSE-36 address bits to QEMU
                # (the difference excluded from the generator above, reached by aliasing).
                assert "reserved bits" in ours.message and theirs >= 1 << 32, where
                continue
            assert theirs is None, where
            assert our_flags == {}, where
            # QEMU's early PDE accessed flag, in an entry the walk used before the PTE
            assert set(their_flags.values()) <= {A} and set(their_flags) <= set(read[:-1]), where


def test_unicorn_sets_the_pde_accessed_flag_even_when_the_walk_faults(oracle: Oracle) -> None:
    ctypes.memset(ctypes.addressof(oracle.ram) + POOL, 0, POOL_END - POOL)
    oracle.write(POOL, 4, (POOL + 0x1000) | P | RW)  # PDE → a page table of empty PTEs
    uc = oracle.cpus[False]
    uc.reg_write(X.UC_X86_REG_CR3, POOL)
    uc.reg_write(X.UC_X86_REG_CR4, 0)
    uc.reg_write(X.UC_X86_REG_CR0, X86_CR0_PG | CR0_PE)
    assert oracle.translate(False, 0x1000, READ) is None
    assert oracle.read(POOL, 4) & A  # QEMU: set before the PTE is read
    oracle.write(POOL, 4, (POOL + 0x1000) | P | RW)
    state = X86MmuState(X86_CR0_PG | CR0_PE, POOL, 0)
    assert isinstance(walk(state, 0x1000, READ, False, oracle.read, oracle.write), WalkFault)
    assert not oracle.read(POOL, 4) & A  # the walker: only a walk that succeeds sets A


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(scenario=scenarios())
def test_the_small_page_fast_path_does_what_the_full_walk_does(scenario: Scenario) -> None:
    """The TLB fill's common case (a page-table PDE, then a 4 KiB page or a PTE not present),
    with its per-state memo of decoded rights, gives exactly the full walk's answer and
    leaves the same accessed and dirty flags, access after access."""
    s = scenario.state
    fast_ram, full_ram = Ram(), Ram()
    for addr, (value, size) in scenario.entries.items():
        fast_ram.put(addr, value, size)
        full_ram.put(addr, value, size)
    for va, access in scenario.accesses * 2:  # repeated: the memo answers, flags are set
        with unittest.mock.patch.object(x86, "_walk_small_page", lambda *a: None):
            expected = walk(s, va, access, scenario.user, full_ram.read, full_ram.write)
        fast_writes = len(fast_ram.writes)
        if isinstance(expected, Translation) and expected.page_size == 0x1000 and not s.pae:
            fast = x86._walk_small_page(s, va, access, scenario.user, fast_ram.read, None)
            assert fast is not None and fast.paddr == expected.paddr  # taken, and no writes
            assert len(fast_ram.writes) == fast_writes
        assert walk(s, va, access, scenario.user, fast_ram.read, fast_ram.write) == expected
        assert fast_ram.writes == full_ram.writes
