"""The MMU and the cache model inside the machine: tables built by guest code are walked by
Python, and Python's own accesses land in the same cache view as the guest's."""

from __future__ import annotations

import pytest

from emulator.mmu import AccessType, MemType
from tests.conftest import ARCHES

COMPUTE_MMU = {"armv7": "compute_mmu_arm", "x86": "compute_mmu_x86"}
RAM_PAGE = {"armv7": 0x6010_0000, "x86": 0x0200_0000}


@pytest.fixture(scope="module", params=ARCHES)
def mmu_run(request):
    from firmware.build import build
    from tests.conftest import run_image

    arch = request.param
    run = run_image(build(COMPUTE_MMU[arch], arch), arch, patch={"iterations": 2})
    assert run.result.status == 0, run.log
    return arch, run


def test_firmware_with_the_mmu_on_computes_the_same_checksum_as_with_it_off(mmu_run, run_firmware):
    arch, run = mmu_run
    assert run.output == run_firmware("compute", arch, patch={"iterations": 2}).output


def test_python_walks_the_tables_the_guest_built(mmu_run):
    arch, run = mmu_run
    cpu = run.machine.cpu
    va = RAM_PAGE[arch] + 0x123
    tr = cpu.translate(va, AccessType.WRITE)
    assert tr.paddr == va  # identity map
    assert tr.memtype is MemType.WRITE_BACK
    assert tr.page_size == (1 << 20 if arch == "armv7" else 4 << 20)
    listed = [m for m in cpu.mappings() if m.vaddr <= va < m.vaddr + m.page_size]
    assert len(listed) == 1 and listed[0].memtype is MemType.WRITE_BACK


def test_the_page_table_dump_shows_the_guests_mappings_merged_like_linux(mmu_run):
    arch, run = mmu_run
    dump = run.machine.cpu.dump_page_tables()
    if arch == "armv7":
        assert "0x60000000-0x64000000          64M" in dump and "MEM/CACHED/WBWA" in dump
        assert "0x10000000-0x10100000           1M" in dump and "DEV/SHARED" in dump
    else:
        assert "0x00000000-0x04000000          64M" in dump
        assert "0xfe000000-0xfe400000           4M" in dump


def test_a_python_store_through_a_cacheable_mapping_stays_dirty_until_cleaned(mmu_run):
    arch, run = mmu_run
    m = run.machine
    va = RAM_PAGE[arch] + 0x40
    m.cpu.write_virt(va, b"kernel data")
    assert m.bus.read(va, 11) != b"kernel data"  # DRAM still has the old bytes
    assert m.cpu.read_virt(va, 11) == b"kernel data"  # the CPU reads its cached copy
    assert va & ~(m.cpu.line_size - 1) in m.cache.dirty_lines()
    m.cache.clean(m.cpu.translate(va).paddr, 11)
    assert m.bus.read(va, 11) == b"kernel data"


def test_cache_maintenance_by_virtual_range_cleans_every_line_it_covers(mmu_run):
    arch, run = mmu_run
    m = run.machine
    va = RAM_PAGE[arch] + 0x1FF0  # straddles a page boundary
    m.cpu.write_virt(va, bytes(range(64)))
    m.cpu.cache_maintenance("clean", va, 64)
    assert m.bus.read(va, 64) == bytes(range(64))
    m.bus.write(va, b"\xee" * 64)  # as a device would
    m.cpu.cache_maintenance("invalidate", va, 64)
    assert m.cpu.read_virt(va, 64) == b"\xee" * 64


ALIAS = {"armv7": "mmu_alias_arm", "x86": "mmu_alias_x86"}
FAULT = {"armv7": "status=0x00000005", "x86": "status=0x00000000"}


def _alias_lines(before: str, arch: str) -> str:
    return (
        "mmu: on\n"
        f"cacheable write visible through uncached alias before clean: {before}\n"
        "cacheable write visible through uncached alias after clean: yes\n"
        f"uncached write visible through cacheable alias before invalidate: {before}\n"
        "uncached write visible through cacheable alias after invalidate: yes\n"
        f"fault: {FAULT[arch]} address=0x80000124\n"
        "fault handled, resumed\n"
    )


@pytest.mark.parametrize("arch", ARCHES)
def test_a_cached_write_is_invisible_uncached_until_cleaned_and_vice_versa(run_firmware, arch):
    run = run_firmware(ALIAS[arch], arch)
    assert run.output == _alias_lines("no", arch)
    assert run.result.status == 0


@pytest.mark.parametrize("arch", ARCHES)
def test_with_the_cache_off_both_aliases_see_every_write_at_once(run_firmware, arch):
    from emulator.cache import CacheConfig, Policy

    run = run_firmware(ALIAS[arch], arch, cache=CacheConfig(Policy.OFF))
    assert run.output == _alias_lines("yes", arch)
    assert not any("hazard" in line for line in run.log)


@pytest.mark.parametrize("arch", ARCHES)
def test_mapping_one_page_cached_and_uncached_is_reported_with_both_addresses(run_firmware, arch):
    run = run_firmware(ALIAS[arch], arch)
    (report,) = [line for line in run.log if "hazard" in line]
    assert "conflicting memory types" in report
    assert "cached at VA 0x70000000" in report and "uncached at VA 0x70001000" in report


@pytest.mark.parametrize("arch", ARCHES)
def test_stop_on_hazard_ends_the_run_at_the_first_one(run_firmware, arch):
    run = run_firmware(ALIAS[arch], arch, stop_on_hazard=True)
    assert run.result.status == 125
    assert run.result.reason == "hazard"
    assert "after clean" not in run.output


@pytest.mark.parametrize("arch", ARCHES)
def test_the_lru_cache_shows_the_same_alias_semantics(run_firmware, arch):
    from emulator.cache import CacheConfig

    run = run_firmware(ALIAS[arch], arch, cache=CacheConfig.parse("lru,size=32K,ways=4"))
    assert run.output == _alias_lines("no", arch)


def test_a_device_reading_what_guest_code_left_dirty_names_the_guests_store(mmu_run):
    arch, run = mmu_run
    m = run.machine
    image = m.image
    assert image is not None
    # the compute benchmark's CRC table: written by guest code, never cleaned
    table = next(a for a, _size, name in image.symbols if name == "crc_table")
    dma = m.ctx.dma(next(n for n in m.board.devices if n.name == "fifo_dma"))
    before = len(m.cache.hazards)
    dma.read(table, 64)
    hazards = m.cache.hazards[before:]
    if arch == "x86":  # soclab-x86 bus masters are coherent: they snoop, no hazard
        assert hazards == []
        return
    assert hazards and hazards[0].kind.name == "DEVICE_READ_DIRTY"
    writer = hazards[0].last_writer
    assert writer is not None and writer.who == "CPU" and writer.pc is not None
    assert image.symbolize(writer.pc) is not None  # a guest instruction, symbolised
