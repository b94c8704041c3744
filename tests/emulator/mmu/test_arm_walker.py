"""The ARMv7-A short-descriptor walker: architecture unit tests, then a differential test
against Unicorn's own walker (QEMU's get_phys_addr_v6 on a Cortex-A9 model)."""

from __future__ import annotations

import ctypes
import dataclasses
import random
import struct
import unittest.mock
from collections.abc import Iterator

import pytest
import unicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unicorn import arm_const as A
from unicorn.unicorn_py3 import unicorn as _ucbind

from emulator.mmu import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    AccessType,
    MemType,
    Translation,
    WalkFault,
    arm,
)
from emulator.mmu.arm import ArmMmuState, FaultStatus, TableWalkAbort, dump, mappings, walk

R, W, X = PROT_READ, PROT_WRITE, PROT_EXEC
RW, RWX, RX = R | W, R | W | X, R | X
READ, WRITE, FETCH = AccessType.READ, AccessType.WRITE, AccessType.FETCH
LINUX_PRRR, LINUX_NMRR = 0xFF0A81A8, 0x40E040E0
TT0, TT1, L2A, L2B = 0x0010_0000, 0x0010_4000, 0x0010_8000, 0x0010_8400
CLIENT_ALL, MANAGER_ALL = 0x5555_5555, 0xFFFF_FFFF


# -- descriptor builders (ARM ARM B3.5.1, TECH-REFERENCE §1.1/§1.2) --------------------------


def section(
    pa: int,
    ap: int = 0b011,
    domain: int = 0,
    xn: bool = False,
    tex: int = 0,
    c: int = 0,
    b: int = 0,
    s: bool = False,
    ng: bool = False,
) -> int:
    return (
        (pa & 0xFFF0_0000)
        | 2
        | b << 2
        | c << 3
        | xn << 4
        | domain << 5
        | (ap & 3) << 10
        | tex << 12
        | (ap >> 2) << 15
        | s << 16
        | ng << 17
    )


def supersection(pa: int, **kw: int) -> int:
    return (section(0, **kw) & ~0xFFF0_0000) | 1 << 18 | (pa & 0xFF00_0000)


def page_table(l2: int, domain: int = 0) -> int:
    return (l2 & 0xFFFF_FC00) | domain << 5 | 1


def small(
    pa: int,
    ap: int = 0b011,
    xn: bool = False,
    tex: int = 0,
    c: int = 0,
    b: int = 0,
    s: bool = False,
    ng: bool = False,
) -> int:
    return (
        (pa & 0xFFFF_F000)
        | 2
        | xn
        | b << 2
        | c << 3
        | (ap & 3) << 4
        | tex << 6
        | (ap >> 2) << 9
        | s << 10
        | ng << 11
    )


def large(
    pa: int,
    ap: int = 0b011,
    xn: bool = False,
    tex: int = 0,
    c: int = 0,
    b: int = 0,
    s: bool = False,
    ng: bool = False,
) -> int:
    return (
        (pa & 0xFFFF_0000)
        | 1
        | b << 2
        | c << 3
        | (ap & 3) << 4
        | (ap >> 2) << 9
        | s << 10
        | ng << 11
        | tex << 12
        | xn << 15
    )


class PhysMem:
    """Fake physical memory of 32-bit words; everything else reads as 0 (fault entries)."""

    def __init__(self) -> None:
        self.words: dict[int, int] = {}

    def __setitem__(self, addr: int, value: int) -> None:
        self.words[addr] = value & 0xFFFF_FFFF

    def l1(self, vaddr: int, desc: int, table: int = TT0) -> None:
        self[table + (vaddr >> 20) * 4] = desc

    def l2(self, vaddr: int, desc: int, table: int = L2A) -> None:
        self[table + ((vaddr >> 12) & 0xFF) * 4] = desc

    def read(self, paddr: int, size: int) -> int:
        assert size == 4 and paddr % 4 == 0
        return self.words.get(paddr, 0)


def mmu(**kw: int) -> ArmMmuState:
    base = ArmMmuState(
        sctlr=arm.SCTLR_M | arm.SCTLR_C,
        ttbr0=TT0,
        ttbr1=TT1,
        ttbcr=0,
        dacr=CLIENT_ALL,
        prrr=LINUX_PRRR,
        nmrr=LINUX_NMRR,
    )
    return dataclasses.replace(base, **kw)


def ok(res: Translation | WalkFault) -> Translation:
    assert isinstance(res, Translation), res
    return res


def bad(res: Translation | WalkFault) -> WalkFault:
    assert isinstance(res, WalkFault), res
    return res


@pytest.fixture
def mem() -> PhysMem:
    return PhysMem()


# -- translation ------------------------------------------------------------------------------


def test_mmu_off_is_flat_strongly_ordered_with_all_permissions(mem: PhysMem) -> None:
    t = ok(walk(mmu(sctlr=0), 0x8000_1234, WRITE, True, mem.read))
    assert (t.paddr, t.prot, t.memtype) == (0x8000_1234, RWX, MemType.STRONGLY_ORDERED)
    assert not mem.words


def test_section_maps_one_mib_keeping_the_offset(mem: PhysMem) -> None:
    mem.l1(0xC010_0000, section(0x8020_0000, domain=3, tex=1, c=1, b=1))
    t = ok(walk(mmu(), 0xC01A_BCDE, READ, False, mem.read))
    assert (t.paddr, t.page_size, t.level, t.global_) == (0x802A_BCDE, 1 << 20, 1, True)
    assert (t.prot, t.memtype) == (RWX, MemType.WRITE_BACK)


def test_supersection_maps_16_mib_in_domain_0_ignoring_extended_pa_bits(mem: PhysMem) -> None:
    desc = supersection(0x4700_0000, ap=0b010) | 0xF << 20 | 0xF << 5  # PA[39:32] bits set
    mem.l1(0x2050_0000, desc)
    dacr = CLIENT_ALL & ~(3 << 30)  # D15 no access: the domain field is not a domain here
    t = ok(walk(mmu(dacr=dacr), 0x2056_7890, READ, True, mem.read))
    assert (t.paddr, t.page_size, t.prot) == (0x4756_7890, 1 << 24, RX)
    assert bad(walk(mmu(dacr=CLIENT_ALL & ~3), 0x2056_7890, READ, True, mem.read)).status == 0x009


def test_small_and_large_pages_through_a_page_table(mem: PhysMem) -> None:
    mem.l1(0x0040_0000, page_table(L2A, domain=1))
    mem.l2(0x0041_2000, small(0x0123_4000, ng=True))
    mem.l2(0x0042_5000, large(0x0567_0000))  # one of the 16 slots of the large page
    t = ok(walk(mmu(), 0x0041_2ABC, READ, True, mem.read))
    assert (t.paddr, t.page_size, t.level, t.global_) == (0x0123_4ABC, 4096, 2, False)
    t = ok(walk(mmu(), 0x0042_5ABC, WRITE, True, mem.read))
    assert (t.paddr, t.page_size) == (0x0567_5ABC, 1 << 16)


def test_small_page_type_0b11_is_execute_never(mem: PhysMem) -> None:
    mem.l1(0, page_table(L2A))
    mem.l2(0x1000, small(0x9000) | 1)
    assert ok(walk(mmu(), 0x1000, READ, False, mem.read)).prot == RW
    assert bad(walk(mmu(), 0x1000, FETCH, False, mem.read)).status == 0x00F


def test_ttbcr_n2_sends_the_top_three_gib_to_ttbr1(mem: PhysMem) -> None:
    ttbr0 = 0x0020_1000  # 4 KiB-aligned is enough for a 1024-entry table when N=2
    state = mmu(ttbcr=2, ttbr0=ttbr0 | 0x5B)  # walk attribute bits below the base
    mem.l1(0x3FF0_0000, section(0x0100_0000), table=ttbr0)
    mem.l1(0x4000_0000, section(0x0200_0000), table=TT1)
    mem.l1(0x4000_0000, section(0x0300_0000), table=ttbr0)  # past TTBR0's 1024 entries
    assert ok(walk(state, 0x3FF0_0004, READ, False, mem.read)).paddr == 0x0100_0004
    assert ok(walk(state, 0x4000_0004, READ, False, mem.read)).paddr == 0x0200_0004


@pytest.mark.parametrize(("ttbcr", "vaddr"), [(0x10, 0x1000), (0x11, 0x1000), (0x21, 0x8000_0000)])
def test_pd0_and_pd1_disable_walks_with_a_translation_fault_section(
    mem: PhysMem, ttbcr: int, vaddr: int
) -> None:
    mem.l1(vaddr, section(vaddr))
    mem.l1(vaddr, section(vaddr), table=TT1)
    f = bad(walk(mmu(ttbcr=ttbcr), vaddr, WRITE, False, mem.read))
    assert (f.status, f.kind, f.level) == (0x805, "translation", 1)
    other = 0x8000_0000 if vaddr < 0x8000_0000 else 0x1000
    mem.l1(other, section(other))
    mem.l1(other, section(other), table=TT1)
    if ttbcr & 7:  # with N=1 the other half uses the other TTBR, which is enabled
        assert ok(walk(mmu(ttbcr=ttbcr), other, READ, False, mem.read)).paddr == other


def test_lpae_is_not_supported(mem: PhysMem) -> None:
    f = bad(walk(mmu(ttbcr=arm.TTBCR_EAE), 0x1000, READ, False, mem.read))
    assert f.kind == "reserved" and "LPAE" in f.message


def test_l1_type_0b11_is_a_translation_fault_on_cortex_a9(mem: PhysMem) -> None:
    mem.l1(0x0030_0000, section(0x0030_0000) | 1)
    assert bad(walk(mmu(), 0x0030_0000, READ, False, mem.read)).status == 0x005
    assert arm.L1_PXN is False


def test_an_lpae_era_core_reads_l1_type_0b11_as_a_pxn_section(
    mem: PhysMem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arm, "L1_PXN", True)
    mem.l1(0x0030_0000, section(0x0030_0000) | 1)
    assert ok(walk(mmu(), 0x0030_0000, READ, False, mem.read)).prot == RW
    assert ok(walk(mmu(), 0x0030_0000, FETCH, True, mem.read)).prot == RWX
    assert bad(walk(mmu(), 0x0030_0000, FETCH, False, mem.read)).status == 0x00D


# -- faults and their FSR values ------------------------------------------------------------


def test_fault_status_codes_have_their_architectural_values() -> None:
    assert arm.fsr(FaultStatus.ASYNC_EXTERNAL) == 0x406
    assert arm.fsr(FaultStatus.PERMISSION_PAGE, 0xA, write=True) == 0x8AF
    assert FaultStatus.TRANSLATION_PAGE == 0b00111 and FaultStatus.DOMAIN_PAGE == 0b01011


def test_translation_faults_section_and_page(mem: PhysMem) -> None:
    f = bad(walk(mmu(), 0x0050_0000, READ, False, mem.read))
    assert (f.status, f.kind, f.level, f.access) == (0x005, "translation", 1, READ)
    assert bad(walk(mmu(), 0x0050_0000, WRITE, False, mem.read)).status == 0x805
    mem.l1(0x0060_0000, page_table(L2A, domain=7))
    f = bad(walk(mmu(), 0x0061_0000, WRITE, True, mem.read))
    assert (f.status, f.level) == (0x807 | 7 << 4, 2)  # the domain is known: in the FSR
    assert bad(walk(mmu(), 0x0061_0000, FETCH, True, mem.read)).status == 0x077  # IFSR: no WnR


@pytest.mark.parametrize("dacr_value", [0b00, 0b10])  # no access, and reserved
def test_domain_faults_section_and_page(mem: PhysMem, dacr_value: int) -> None:
    dacr = CLIENT_ALL & ~(3 << 10) | dacr_value << 10  # D5
    mem.l1(0x0070_0000, section(0x0070_0000, domain=5))
    mem.l1(0x0080_0000, page_table(L2A, domain=5))
    mem.l2(0x0080_0000, small(0x0080_0000))
    f = bad(walk(mmu(dacr=dacr), 0x0070_0000, WRITE, False, mem.read))
    assert (f.status, f.kind) == (0x800 | 5 << 4 | 0x9, "domain")
    assert bad(walk(mmu(dacr=dacr), 0x0080_0000, READ, False, mem.read)).status == 0x5B


def test_an_empty_l2_entry_in_a_no_access_domain_is_a_translation_fault(mem: PhysMem) -> None:
    # ARM ARM order: the walk (and its translation fault) precedes CheckDomain. QEMU checks
    # the domain before fetching the L2 descriptor and reports a domain fault, page (0x0B).
    mem.l1(0x0080_0000, page_table(L2A, domain=5))
    f = bad(walk(mmu(dacr=CLIENT_ALL & ~(3 << 10)), 0x0080_1000, READ, False, mem.read))
    assert f.status == 0x057


def test_permission_faults_section_and_page(mem: PhysMem) -> None:
    mem.l1(0x0090_0000, section(0x0090_0000, ap=0b001, domain=2))  # PL1 RW, PL0 none
    mem.l1(0x00A0_0000, page_table(L2A, domain=3))
    mem.l2(0x00A0_0000, small(0x00A0_0000, ap=0b110))  # read-only for both
    f = bad(walk(mmu(), 0x0090_0010, READ, True, mem.read))
    assert (f.status, f.kind, f.level) == (0x02D, "permission", 1)
    f = bad(walk(mmu(), 0x00A0_0010, WRITE, False, mem.read))
    assert (f.status, f.level) == (0x83F, 2)


def test_access_flag_faults_with_afe(mem: PhysMem) -> None:
    state = mmu(sctlr=arm.SCTLR_M | arm.SCTLR_AFE)
    mem.l1(0x00B0_0000, section(0x00B0_0000, ap=0b010, domain=4))  # AP[0]=0: not accessed
    mem.l1(0x00C0_0000, page_table(L2A, domain=6))
    mem.l2(0x00C0_0000, small(0x00C0_0000, ap=0b110))
    f = bad(walk(state, 0x00B0_0000, WRITE, False, mem.read))
    assert (f.status, f.kind, f.level) == (0x843, "access-flag", 1)
    assert bad(walk(state, 0x00C0_0000, READ, True, mem.read)).status == 0x066
    # Without AFE the same AP bits are the full model: no fault
    assert ok(walk(mmu(), 0x00B0_0000, WRITE, False, mem.read)).prot == RWX


def test_access_flag_fault_comes_before_domain_and_holds_for_manager_domains(
    mem: PhysMem,
) -> None:
    # ARM ARM: the access flag is checked by the walk, before CheckDomain. QEMU checks the
    # domain first and lets a Manager domain skip the flag (so Unicorn translates here).
    mem.l1(0x00B0_0000, section(0x00B0_0000, ap=0b010, domain=4))
    for dacr in (0, MANAGER_ALL):
        state = mmu(sctlr=arm.SCTLR_M | arm.SCTLR_AFE, dacr=dacr)
        assert bad(walk(state, 0x00B0_0000, READ, False, mem.read)).status == 0x043


# AP[2:0] -> (PL1, PL0) with SCTLR.AFE=0 (TECH-REFERENCE §1.6; ARM ARM B3.7.1)
FULL_MODEL = {0b000: ("", ""), 0b001: ("RW", ""), 0b010: ("RW", "R"), 0b011: ("RW", "RW"),
              0b100: ("", ""), 0b101: ("R", ""), 0b110: ("R", "R"), 0b111: ("R", "R")}  # fmt: skip
# AP[2:1] -> (PL1, PL0) with SCTLR.AFE=1 (AP[0] is the access flag)
SIMPLE_MODEL = {0b00: ("RW", ""), 0b01: ("RW", "RW"), 0b10: ("R", ""), 0b11: ("R", "R")}


def _prot_of(letters: str, xn: bool) -> int:
    prot = (R if "R" in letters else 0) | (W if "W" in letters else 0)
    return prot | X if prot and not xn else prot


def _probe(state: ArmMmuState, mem: PhysMem, vaddr: int, user: bool) -> int:
    """The permissions a walk reports, or the subset found by faulting accesses."""
    allowed = 0
    for access in (READ, WRITE, FETCH):
        res = walk(state, vaddr, access, user, mem.read)
        if isinstance(res, Translation):
            assert access.prot & res.prot
            allowed |= access.prot
            prot = res.prot
    assert allowed == 0 or allowed == prot  # the Translation lists all it allows
    return allowed


@pytest.mark.parametrize("ap", sorted(FULL_MODEL))
@pytest.mark.parametrize("xn", [False, True])
def test_full_access_permission_model(mem: PhysMem, ap: int, xn: bool) -> None:
    mem.l1(0, section(0, ap=ap, xn=xn))
    mem.l1(0x0010_0000, page_table(L2A))
    mem.l2(0x0010_0000, small(0, ap=ap, xn=xn))
    for vaddr in (0, 0x0010_0000):
        for user, letters in zip((False, True), FULL_MODEL[ap], strict=True):
            assert _probe(mmu(), mem, vaddr, user) == _prot_of(letters, xn)


@pytest.mark.parametrize("ap21", sorted(SIMPLE_MODEL))
def test_simplified_access_permission_model(mem: PhysMem, ap21: int) -> None:
    mem.l1(0, section(0, ap=ap21 << 1 | 1))
    for user, letters in zip((False, True), SIMPLE_MODEL[ap21], strict=True):
        assert _probe(mmu(sctlr=arm.SCTLR_M | arm.SCTLR_AFE), mem, 0, user) == _prot_of(letters, 0)


def test_execute_never_and_pl0_needs_read_permission_to_execute(mem: PhysMem) -> None:
    mem.l1(0, section(0, ap=0b001))  # PL1 RW, PL0 none
    mem.l1(0x0010_0000, section(0, xn=True))
    assert ok(walk(mmu(), 0x10, FETCH, False, mem.read)).prot == RWX
    assert bad(walk(mmu(), 0x10, FETCH, True, mem.read)).status == 0x00D
    f = bad(walk(mmu(), 0x0010_0010, FETCH, False, mem.read))
    assert (f.status, f.kind) == (0x00D, "permission")


def test_manager_domain_ignores_ap_and_xn(mem: PhysMem) -> None:
    mem.l1(0, section(0, ap=0b000, xn=True, domain=9))
    assert bad(walk(mmu(), 0x10, READ, False, mem.read)).status == 0x09D
    t = ok(walk(mmu(dacr=3 << 18), 0x10, FETCH, True, mem.read))
    assert t.prot == RWX


def test_a_descriptor_read_that_no_memory_answers_is_an_external_abort_on_the_walk() -> None:
    def read(paddr: int, size: int) -> int:
        if paddr >= 0x1000_0000:
            raise TableWalkAbort("no memory")
        return page_table(0x1000_0000, domain=2) if paddr < TT1 + 0x4000 else 0

    f = bad(walk(mmu(ttbr0=0x2000_0000), 0, READ, False, read))
    assert (f.status, f.kind, f.level) == (0x00C, "external", 1)
    f = bad(walk(mmu(), 0, WRITE, False, read))
    assert (f.status, f.kind, f.level) == (0x82E, "external", 2)


def test_big_endian_walks_byte_swap_descriptors(mem: PhysMem) -> None:
    mem.l1(0x0050_0000, int.from_bytes(section(0x0770_0000).to_bytes(4, "big"), "little"))
    state = mmu(sctlr=arm.SCTLR_M | arm.SCTLR_EE)
    assert ok(walk(state, 0x0050_0000, READ, False, mem.read)).paddr == 0x0770_0000


# -- memory types -----------------------------------------------------------------------------

TRE0 = arm.SCTLR_M | arm.SCTLR_C
SO, DEV, NC = MemType.STRONGLY_ORDERED, MemType.DEVICE, MemType.NORMAL_NC
WT, WB = MemType.WRITE_THROUGH, MemType.WRITE_BACK


@pytest.mark.parametrize(
    ("tex", "c", "b", "memtype"),
    [(0, 0, 0, SO), (0, 0, 1, DEV), (0, 1, 0, WT), (0, 1, 1, WB), (1, 0, 0, NC), (1, 1, 1, WB),
     (2, 0, 0, DEV), (1, 0, 1, SO), (3, 1, 1, SO),  # reserved encodings: taken as SO
     (0b101, 0, 0, NC), (0b100, 1, 1, WB), (0b110, 1, 0, WT)],  # TEX=1BB: inner policy wins
)  # fmt: skip
def test_tex_c_b_memory_types(mem: PhysMem, tex: int, c: int, b: int, memtype: MemType) -> None:
    mem.l1(0, section(0, tex=tex, c=c, b=b))
    mem.l1(0x0010_0000, page_table(L2A))
    mem.l2(0x0010_0000, small(0, tex=tex, c=c, b=b))
    mem.l2(0x0011_0000, large(0, tex=tex, c=c, b=b))
    for vaddr in (0, 0x0010_0000, 0x0011_0000):
        assert ok(walk(mmu(sctlr=TRE0), vaddr, READ, False, mem.read)).memtype is memtype


# Linux's PRRR=0xff0a81a8 / NMRR=0x40e040e0, index TEX[0]:C:B (TECH-REFERENCE §1.9)
LINUX_REMAP = [(0, SO, "SO/UNCACHED"), (1, NC, "MEM/BUFFERABLE/WC"), (2, WT, "MEM/CACHED/WT"),
               (3, WB, "MEM/CACHED/WBRA"), (4, DEV, "DEV/SHARED"), (5, SO, "SO/UNCACHED"),
               (6, SO, "SO/UNCACHED"), (7, WB, "MEM/CACHED/WBWA")]  # fmt: skip


@pytest.mark.parametrize(("n", "memtype", "label"), LINUX_REMAP)
def test_linux_tex_remap_decodes_like_proc_v7_2level(
    mem: PhysMem, n: int, memtype: MemType, label: str
) -> None:
    state = mmu(sctlr=arm.SCTLR_M | arm.SCTLR_C | arm.SCTLR_TRE)
    tex = 0b110 | n >> 2  # TEX[2:1] are the OS's with TRE=1
    mem.l1(0, page_table(L2A))
    mem.l2(0, small(0, tex=tex, c=n >> 1 & 1, b=n & 1, s=True))
    assert ok(walk(state, 0, READ, False, mem.read)).memtype is memtype
    assert dump(state, mem.read).split()[-1] == label


def test_linux_device_pages_are_shared_only_with_the_s_bit(mem: PhysMem) -> None:
    state = mmu(sctlr=arm.SCTLR_M | arm.SCTLR_TRE)
    mem.l1(0, page_table(L2A, domain=2))
    mem.l2(0, small(0x1000_0000, tex=1, xn=True, ap=0b001))  # L_PTE_MT_DEV_NONSHARED
    mem.l2(0x1000, small(0x1000_1000, tex=1, xn=True, ap=0b001, s=True))  # DEV_SHARED
    assert dump(state, mem.read) == (
        "0x00000000-0x00001000           4K PTE IO          RW NX     DEV/NONSHARED\n"
        "0x00001000-0x00002000           4K PTE IO          RW NX SHD DEV/SHARED\n"
    )


def test_caches_off_make_normal_memory_non_cacheable(mem: PhysMem) -> None:
    mem.l1(0, section(0, tex=1, c=1, b=1))
    assert ok(walk(mmu(sctlr=arm.SCTLR_M), 0, READ, False, mem.read)).memtype is NC


def test_walk_memtype_follows_the_selected_ttbr_irgn() -> None:
    state = mmu(ttbcr=1, ttbr0=TT0 | 1 << 6, ttbr1=TT1 | 1)  # IRGN 01 WBWA, IRGN 10 WT
    assert arm.walk_memtype(state, 0x1000) is WB
    assert arm.walk_memtype(state, 0x8000_0000) is WT
    assert arm.walk_memtype(dataclasses.replace(state, sctlr=arm.SCTLR_M), 0) is NC


def test_state_from_cpu_reads_the_named_cp15_registers() -> None:
    values = {"SCTLR": 1, "TTBR0": 2, "TTBR1": 3, "TTBCR": 4, "DACR": 5, "PRRR": 6, "NMRR": 7}
    assert ArmMmuState.from_cpu(values.__getitem__) == ArmMmuState(1, 2, 3, 4, 5, 6, 7)


# -- enumeration and dump ---------------------------------------------------------------------


def _kernel_like(mem: PhysMem) -> ArmMmuState:
    """Linux-style tables: 8 MiB of lowmem sections, an ioremap page, vectors, user pages."""
    for mb in range(8):
        lowmem = section(mb << 20, ap=0b001, xn=True, tex=1, c=1, b=1, s=True)
        mem.l1(0xC000_0000 + (mb << 20), lowmem)
    mem.l1(0xF000_0000, page_table(L2A, domain=2))
    mem.l2(0xF000_0000, small(0x1000_0000, ap=0b001, xn=True, tex=1, s=True))
    mem.l1(0xFFF0_0000, page_table(L2B, domain=0))
    mem.l2(0xFFFF_0000, small(0x0070_0000, ap=0b110, tex=7, c=1, b=1), table=L2B)
    mem.l1(0x0000_0000, page_table(0x0010_8800, domain=1))
    for i in range(4):
        user_page = small(0x0100_0000 + i * 0x1000, ap=0b011, tex=7, c=1, b=1, s=True, ng=True)
        mem.l2(0x8000 + i * 0x1000, user_page, table=0x0010_8800)
    return mmu(sctlr=arm.SCTLR_M | arm.SCTLR_C | arm.SCTLR_TRE)


def test_mappings_list_every_descriptor_slot_with_its_permissions(mem: PhysMem) -> None:
    state = _kernel_like(mem)
    maps = list(mappings(state, mem.read))
    assert [m.vaddr for m in maps] == [0x8000, 0x9000, 0xA000, 0xB000] + [
        0xC000_0000 + (mb << 20) for mb in range(8)
    ] + [0xF000_0000, 0xFFFF_0000]
    first, sect, io = maps[0], maps[4], maps[12]
    assert (first.paddr, first.page_size, first.prot, first.global_) == (
        0x0100_0000,
        4096,
        RWX,
        False,
    )
    assert (sect.page_size, sect.prot, sect.memtype) == (1 << 20, RW, WB)
    assert (io.paddr, io.prot, io.memtype) == (0x1000_0000, RW, DEV)
    assert [m.prot for m in mappings(state, mem.read, user=True)][11:] == [0, 0, RX]
    assert list(mappings(mmu(sctlr=0), mem.read)) == []


def test_mappings_report_prot_0_for_no_access_domains_and_supersection_slots(
    mem: PhysMem,
) -> None:
    for mb in range(16):
        mem.l1(0x0100_0000 + (mb << 20), supersection(0x0800_0000))
    maps = list(mappings(mmu(dacr=CLIENT_ALL & ~3), mem.read))
    assert len(maps) == 16 and {m.page_size for m in maps} == {1 << 24}
    assert maps[3].paddr == 0x0830_0000 and {m.prot for m in maps} == {0}


def test_dump_renders_like_linux_kernel_page_tables(mem: PhysMem) -> None:
    state = _kernel_like(mem)
    markers = [(0xC000_0000, "Kernel Mapping"), (0xF000_0000, "vmalloc() Area")]
    out = dump(state, mem.read, markers)
    assert out == (
        "0x00008000-0x0000c000          16K PTE USER    USR RW x  SHD MEM/CACHED/WBWA\n"
        "---[ Kernel Mapping ]---\n"
        "0xc0000000-0xc0800000           8M PGD KERNEL      RW NX SHD MEM/CACHED/WBWA\n"
        "---[ vmalloc() Area ]---\n"
        "0xf0000000-0xf0001000           4K PTE IO          RW NX SHD DEV/SHARED\n"
        "0xffff0000-0xffff1000           4K PTE KERNEL  USR ro x      MEM/CACHED/WBWA\n"
    )
    assert dump(mmu(sctlr=0), mem.read).startswith("MMU off")


def test_dump_shows_the_access_flag_and_unnamed_domains_with_afe(mem: PhysMem) -> None:
    mem.l1(0x0010_0000, section(0, ap=0b010, domain=12))
    state = mmu(sctlr=arm.SCTLR_M | arm.SCTLR_AFE)
    assert dump(state, mem.read) == (
        "0x00100000-0x00200000           1M PGD DOM12   USR RW x         SO/UNCACHED\n"
    )


# -- differential test against Unicorn's walker ---------------------------------------------
#
# Random tables in the RAM of a Cortex-A9 Unicorn with SCTLR.M=1 in UC_TLB_CPU mode: QEMU's
# get_phys_addr_v6 walks them, and uc_vmem_translate reports whether an access faults and
# where it lands. Corners where QEMU deliberately differs from the ARM ARM are kept out of
# the generator, each with a comment naming the difference.

RAM_SIZE = 0x0020_0000
L2_POOL, L2_TABLES = 0x0010_8000, 16
TABLES_END = L2_POOL + L2_TABLES * 0x400
MODE_USR, MODE_SVC = 0x10, 0x13
UC_PROT = {READ: unicorn.UC_PROT_READ, WRITE: unicorn.UC_PROT_WRITE, FETCH: unicorn.UC_PROT_EXEC}

_uc_vmem_translate = _ucbind.uclib.uc_vmem_translate
_uc_vmem_translate.argtypes = [
    ctypes.c_void_p,
    ctypes.c_uint64,
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_uint64),
]
_uc_vmem_translate.restype = ctypes.c_int


class UnicornOracle:
    """One Cortex-A9 Unicorn reused across examples: tables rewritten, TLB flushed."""

    def __init__(self) -> None:
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_ARM)
        uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_A9)
        uc.ctl_set_page_size(4096)  # before any memory is mapped
        uc.mem_map(0, RAM_SIZE)
        self.uc = uc
        self.sctlr_reset = self.cp15(1, 0, 0, 0)
        self._out = ctypes.c_uint64()

    def cp15(self, crn: int, crm: int, opc1: int, opc2: int, value: int | None = None) -> int:
        if value is not None:
            self.uc.reg_write(A.UC_ARM_REG_CP_REG, (15, 0, 0, crn, crm, opc1, opc2, value))
        return int(self.uc.reg_read(A.UC_ARM_REG_CP_REG, (15, 0, 0, crn, crm, opc1, opc2)))

    def load(self, state: ArmMmuState, words: dict[int, int]) -> None:
        self.uc.mem_write(TT0, bytes(TABLES_END - TT0))
        for addr, value in words.items():
            self.uc.mem_write(addr, struct.pack("<I", value))
        self.cp15(2, 0, 0, 0, state.ttbr0)
        self.cp15(2, 0, 0, 1, state.ttbr1)
        self.cp15(2, 0, 0, 2, state.ttbcr)
        self.cp15(3, 0, 0, 0, state.dacr)
        self.cp15(1, 0, 0, 0, state.sctlr)
        self.uc.ctl(unicorn.UC_CTL_TLB_FLUSH, unicorn.UC_CTL_IO_WRITE)

    def set_user(self, user: bool) -> None:
        self.uc.reg_write(A.UC_ARM_REG_CPSR, MODE_USR if user else MODE_SVC)

    def translate(self, vaddr: int, access: AccessType) -> int | None:
        err = _uc_vmem_translate(self.uc._uch, vaddr, UC_PROT[access], ctypes.byref(self._out))
        return self._out.value if err == unicorn.UC_ERR_OK else None

    def read_phys(self, paddr: int, size: int) -> int:
        return int.from_bytes(self.uc.mem_read(paddr, size), "little")


@pytest.fixture(scope="module")
def oracle() -> Iterator[UnicornOracle]:
    yield UnicornOracle()


def test_unicorn_cortex_a9_has_no_lpae_and_no_pxn(oracle: UnicornOracle) -> None:
    """The model the differential test runs against is the Cortex-A9 the walker assumes."""
    oracle.cp15(2, 0, 0, 2, arm.TTBCR_EAE | 0x32)
    assert oracle.cp15(2, 0, 0, 2) == 0x32  # EAE is RAZ/WI without LPAE
    state = mmu(sctlr=oracle.sctlr_reset | arm.SCTLR_M)
    oracle.load(state, {TT0: section(0) | 1})  # L1 type 0b11
    oracle.set_user(False)
    assert oracle.translate(0x1000, READ) is None


words32 = st.integers(0, 0xFFFF_FFFF)
KINDS = ["fault", "reserved"] + ["section"] * 3 + ["super"] * 2 + ["table"] * 5


@st.composite
def address_spaces(draw: st.DrawFn) -> tuple[ArmMmuState, dict[int, int], list[int]]:
    """A random short-descriptor address space and the addresses to probe in it."""
    afe, tre = draw(st.booleans()), draw(st.booleans())
    n = draw(st.sampled_from([0, 0, 0, 1, 2, 3, 7]))
    pd = draw(st.sampled_from([0] * 8 + [arm.TTBCR_PD0, arm.TTBCR_PD1]))
    dacr = draw(st.one_of(words32, st.sampled_from([CLIENT_ALL, MANAGER_ALL, 0x5555_55D5])))
    sctlr = 0x00C5_0078 | arm.SCTLR_M | (arm.SCTLR_AFE if afe else 0)
    sctlr |= arm.SCTLR_TRE if tre else 0
    ttbr0 = TT0 | draw(st.integers(0, 0x3FFF >> n))  # walk attributes below the base
    ttbr1 = TT1 | draw(st.integers(0, 0x3FFF))
    state = ArmMmuState(sctlr, ttbr0, ttbr1, n | pd, dacr, LINUX_PRRR, LINUX_NMRR)
    words: dict[int, int] = {}
    rng = random.Random(draw(words32))  # the tables from one draw: generation stays cheap
    vaddrs = list({va >> 20: va for va in (rng.getrandbits(32) for _ in range(12))}.values())
    for vaddr in vaddrs:
        table = TT1 if n and vaddr >> (32 - n) else TT0
        l1 = table + (vaddr >> 20) * 4
        kind, bits = rng.choice(KINDS), rng.getrandbits(32)
        if kind == "table":
            l2_base = L2_POOL + rng.randrange(L2_TABLES) * 0x400
            words[l1] = l2_base | bits & 0x3FC | 1
            for page in (vaddr, vaddr ^ 0x1000):
                desc = rng.getrandbits(32) & ~3 | rng.choice([0, 1, 2, 3, 1, 2, 3])
                words[l2_base + ((page >> 12) & 0xFF) * 4] = desc
        elif kind == "section":
            words[l1] = bits & ~(1 << 18 | 3) | 2
        elif kind == "super":  # random extended-PA bits: Unicorn's PAs are 32-bit too
            words[l1] = bits & ~3 | 1 << 18 | 2
        elif kind == "reserved":
            words[l1] = bits | 3
        else:
            words[l1] = bits & ~3
    if afe:
        _set_access_flag_in_manager_domains(words, dacr)
    return state, words, vaddrs


def _set_access_flag_in_manager_domains(words: dict[int, int], dacr: int) -> None:
    """QEMU lets a Manager domain skip the access-flag check; the ARM ARM checks the flag
    during the walk, before the domain (test_access_flag_fault_comes_before_domain...)."""
    manager = {d for d in range(16) if (dacr >> 2 * d) & 3 == 3}
    for addr, desc in list(words.items()):
        if not TT0 <= addr < L2_POOL or not desc & 3:
            continue
        domain = 0 if desc & 2 and desc & (1 << 18) else (desc >> 5) & 0xF
        if domain not in manager:
            continue
        if desc & 2:
            words[addr] = desc | 1 << 10
        else:
            base = desc & 0xFFFF_FC00
            for l2 in range(base, base + 0x400, 4):
                if l2 in words:
                    words[l2] |= 1 << 4


@settings(
    max_examples=2000,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(space=address_spaces())
def test_walker_agrees_with_unicorn(
    oracle: UnicornOracle, space: tuple[ArmMmuState, dict[int, int], list[int]]
) -> None:
    state, words, vaddrs = space
    oracle.load(state, words)
    probes = vaddrs + [v ^ 0x1000 for v in vaddrs]  # and the next page: same L2 table
    for user in (False, True):
        oracle.set_user(user)
        for vaddr in probes:
            for access in (READ, WRITE, FETCH):
                ours = walk(state, vaddr, access, user, oracle.read_phys)
                theirs = oracle.translate(vaddr, access)
                where = f"{access.value} of {vaddr:#010x} at {'PL0' if user else 'PL1'}"
                if theirs is None:
                    assert isinstance(ours, WalkFault), f"{where}: Unicorn faults, we map {ours}"
                else:
                    assert isinstance(ours, Translation), f"{where}: Unicorn maps, we {ours}"
                    assert ours.paddr == theirs, where


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(space=address_spaces(), user=st.booleans())
def test_mappings_agree_with_walks(
    space: tuple[ArmMmuState, dict[int, int], list[int]], user: bool
) -> None:
    """Every listed mapping is what a walk of its address finds, and nothing is missing."""
    state, words, vaddrs = space
    mem = PhysMem()
    mem.words = words
    listed = {m.vaddr: m for m in mappings(state, mem.read, user)}
    for m in listed.values():
        res = walk(state, m.vaddr, READ, user, mem.read)
        if m.prot & R:
            assert ok(res) == m
        else:
            assert bad(res).kind in ("permission", "domain", "access-flag")
    for vaddr in vaddrs:
        page, sect = listed.get(vaddr & ~0xFFF), listed.get(vaddr & ~0xF_FFFF)
        m = page if page and page.level == 2 else sect if sect and sect.level == 1 else None
        res = walk(state, vaddr, READ, user, mem.read)
        if m is None:
            assert bad(res).kind == "translation"
        elif m.prot & R:
            assert ok(res).paddr == m.paddr + (vaddr - m.vaddr)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(space=address_spaces())
def test_the_small_page_fast_path_returns_what_the_full_walk_does(
    space: tuple[ArmMmuState, dict[int, int], list[int]],
) -> None:
    """The TLB fill's common case (an L1 table entry, then a small page or an L2 fault entry),
    with its per-state memo of decoded attributes, gives exactly the full walk's answer:
    the same translation, or the same fault status, kind and message."""
    state, words, vaddrs = space
    mem = PhysMem()
    mem.words = words
    probes = vaddrs + [v ^ 0x1000 for v in vaddrs]
    with unittest.mock.patch.object(arm, "_walk_small_page", lambda *a: None):
        full = {
            (v, a, u): walk(state, v, a, u, mem.read)
            for v in probes
            for a in (READ, WRITE, FETCH)
            for u in (False, True)
        }
    for _ in range(2):  # the second round answers from the memo
        for (vaddr, access, user), expected in full.items():
            fast = arm._walk_small_page(state, vaddr, access, user, mem.read)
            if isinstance(expected, Translation) and expected.page_size == 0x1000:
                assert fast == expected  # every small page goes the fast way
            assert walk(state, vaddr, access, user, mem.read) == expected
