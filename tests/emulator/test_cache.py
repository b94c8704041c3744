"""The two-view cache model on its own: residency, dirty lines, maintenance, bus masters,
write-combining and write-through, policies, and each hazard with what it says is missing."""

from __future__ import annotations

import pytest

from emulator.board import BoardError
from emulator.bus import CACHE_VIEW_OFFSET, DmaAddressSpace, PhysBus
from emulator.cache import (
    WC_VIEW_OFFSET,
    CacheConfig,
    CacheModel,
    HazardKind,
    Policy,
)
from emulator.mmu import PROT_WRITE, AccessType, MemType

RAM = 0x6000_0000
PAGE = 0x6001_0000
LINE = 32


class Rig:
    def __init__(self, config: CacheConfig | None = None, coherent: bool = False) -> None:
        self.bus = PhysBus(log=lambda m: None)
        self.ram = self.bus.add_memory("dram", RAM, 1 << 20)
        self.time = 0
        self.tlb_flushes = 0
        self.cache = CacheModel(
            self.bus, LINE, config or CacheConfig(), lambda: self.time, self._flush
        )
        self.bus.cache = self.cache
        self.dma = DmaAddressSpace(self.bus, coherent, 32, "fifo_dma")

    def _flush(self) -> None:
        self.tlb_flushes += 1

    def map(
        self,
        pa: int,
        memtype: MemType = MemType.WRITE_BACK,
        access: AccessType = AccessType.READ,
        va: int | None = None,
        pc: int = 0x100,
    ):
        va = pa if va is None else va
        return self.cache.map_page(pa & ~0xFFF, memtype, va, access, lambda: pc)

    def cpu_store(self, pa: int, data: bytes) -> None:
        """A guest store that reached the cache view (what Unicorn does after the fill)."""
        off = pa - RAM
        self.ram.cache[off : off + len(data)] = data

    def cpu_view(self, pa: int, n: int) -> bytes:
        off = pa - RAM
        return bytes(self.ram.cache[off : off + n])

    def memory(self, pa: int, n: int) -> bytes:
        return self.bus.read(pa, n)

    def kinds(self) -> list[HazardKind]:
        return [h.kind for h in self.cache.hazards]


def test_a_cacheable_fill_points_the_tlb_at_the_cache_view_with_memorys_bytes():
    rig = Rig()
    rig.bus.write(PAGE, b"boot data")
    view, prot = rig.map(PAGE)
    assert view == PAGE + CACHE_VIEW_OFFSET
    assert rig.cpu_view(PAGE, 9) == b"boot data"
    assert not prot & PROT_WRITE  # a clean page: its first store must refill the TLB


def test_uncached_and_device_fills_point_at_memory():
    rig = Rig()
    assert rig.map(PAGE, MemType.STRONGLY_ORDERED)[0] == PAGE
    assert rig.map(PAGE + 0x1000, MemType.DEVICE)[0] == PAGE + 0x1000


def test_a_cpu_store_stays_in_the_cache_until_cleaned():
    rig = Rig()
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE + 4, b"\xaa\xbb")
    assert rig.memory(PAGE + 4, 2) == b"\0\0"
    assert list(rig.cache.dirty_lines()) == [PAGE]
    rig.cache.clean(PAGE + 4, 2)
    assert rig.memory(PAGE + 4, 2) == b"\xaa\xbb"
    assert list(rig.cache.dirty_lines()) == []
    assert rig.cache.stats.cleans == 1


def test_device_reading_a_dirty_line_is_a_hazard_naming_the_store_and_the_missing_clean():
    rig = Rig()
    rig.time = 5_000
    rig.map(PAGE, access=AccessType.WRITE, pc=0x6000_1234)
    rig.cpu_store(PAGE + LINE, b"new!")
    rig.time = 9_000
    assert rig.dma.read(PAGE + LINE, 4) == b"\0\0\0\0"  # the device sees stale memory
    (h,) = rig.cache.hazards
    assert h.kind is HazardKind.DEVICE_READ_DIRTY
    assert h.paddr == PAGE + LINE and h.by == "fifo_dma read"
    assert h.last_writer is not None and h.last_writer.pc == 0x6000_1234
    assert h.last_writer.time_ns == 5_000
    text = h.describe()
    assert "clean before the device read it" in text and "0x60011234" not in text
    assert f"line PA {PAGE + LINE:#010x}" in text and "pc=0x60001234" in text


def test_cleaning_before_the_device_reads_gives_it_the_data_and_no_hazard():
    rig = Rig()
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE, b"data")
    rig.cache.clean(PAGE, 4)
    assert rig.dma.read(PAGE, 4) == b"data"
    assert rig.cache.hazards == []


def test_the_cpu_reading_a_line_a_device_wrote_without_invalidate_is_a_hazard():
    rig = Rig()
    rig.map(PAGE)
    rig.dma.write(PAGE + 2 * LINE, b"from device")
    assert rig.tlb_flushes == 1  # the CPU's next access must refill and be checked
    assert rig.cpu_view(PAGE + 2 * LINE, 4) == b"\0\0\0\0"  # stale
    rig.map(PAGE + 2 * LINE, pc=0x6000_2000)
    (h,) = rig.cache.hazards
    assert h.kind is HazardKind.CPU_READ_STALE and h.pc == 0x6000_2000
    assert h.last_writer is not None and h.last_writer.who == "fifo_dma"
    assert "invalidate after the device wrote it" in h.describe()


def test_invalidating_after_the_device_wrote_shows_the_cpu_the_new_data():
    rig = Rig()
    rig.map(PAGE)
    rig.dma.write(PAGE, b"fresh")
    rig.cache.invalidate(PAGE, 5)
    assert rig.cpu_view(PAGE, 5) == b"fresh"
    rig.map(PAGE)
    assert rig.cache.hazards == []


def test_invalidate_drops_dirty_data_and_says_so():
    rig = Rig()
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE, b"lost")
    rig.cache.invalidate(PAGE, 4)
    assert rig.cpu_view(PAGE, 4) == b"\0\0\0\0"
    assert rig.kinds() == [HazardKind.INVALIDATE_DROPPED_DIRTY]


def test_a_clean_writing_back_over_device_data_is_a_hazard():
    rig = Rig()
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE, b"cpu")
    rig.dma.write(PAGE, b"dev")
    rig.cache.clean(PAGE, 4)
    assert rig.memory(PAGE, 3) == b"cpu"
    assert rig.kinds() == [HazardKind.WRITEBACK_OVER_DEVICE_DATA]


def test_a_coherent_master_snoops_dirty_lines_and_updates_cached_ones():
    rig = Rig(coherent=True)
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE, b"cpu data")
    assert rig.dma.read(PAGE, 8) == b"cpu data"
    rig.dma.write(PAGE + 2, b"DE")
    assert rig.cpu_view(PAGE, 8) == b"cpDEdata"
    assert rig.cache.hazards == []


def test_write_combining_writes_are_buffered_until_a_barrier():
    rig = Rig()
    view, _ = rig.map(PAGE, MemType.NORMAL_NC)
    assert view == PAGE + WC_VIEW_OFFSET
    rig.ram.wc[PAGE - RAM : PAGE - RAM + 4] = b"wcwc"
    assert rig.memory(PAGE, 4) == b"\0\0\0\0"
    rig.cache.drain()
    assert rig.memory(PAGE, 4) == b"wcwc"


def test_write_through_stores_reach_memory_at_the_next_barrier():
    rig = Rig()
    rig.map(PAGE, MemType.WRITE_THROUGH, AccessType.WRITE)
    rig.cpu_store(PAGE, b"wt")
    rig.cache.drain()
    assert rig.memory(PAGE, 2) == b"wt"


def test_mapping_one_page_cached_and_uncached_is_reported_once():
    rig = Rig()
    rig.map(PAGE, va=0x7000_0000)
    rig.map(PAGE, MemType.STRONGLY_ORDERED, va=0x7000_1000)
    rig.map(PAGE, MemType.STRONGLY_ORDERED, va=0x7000_2000)
    assert rig.kinds() == [HazardKind.MEMTYPE_CONFLICT]
    assert "0x70000000" in rig.cache.hazards[0].describe()


def test_policy_off_sends_every_access_to_memory():
    rig = Rig(CacheConfig(Policy.OFF))
    assert rig.map(PAGE) == (PAGE, 7)


def test_lru_evicts_the_least_recent_line_of_a_full_set_writing_it_back():
    rig = Rig(CacheConfig(Policy.LRU, size=4096, ways=1))  # 128 sets of one 32-byte line
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE, b"dirty")
    rig.map(PAGE + 0x1000)  # the same set, one way: PAGE's line is evicted
    assert rig.memory(PAGE, 5) == b"dirty"
    assert rig.cache.stats.evictions == 1


def test_lru_device_writes_to_uncached_lines_reach_the_cpu():
    rig = Rig(CacheConfig(Policy.LRU, size=4096, ways=1))
    rig.map(PAGE)
    rig.dma.write(PAGE + 0x200, b"seen")  # a line of the page that was never touched
    assert rig.cpu_view(PAGE + 0x200, 4) == b"seen"
    assert rig.cache.hazards == []


def test_set_way_clean_applies_at_the_barrier():
    rig = Rig()
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE, b"sw")
    set_index = (PAGE // LINE) % rig.cache.sets
    rig.cache.set_way("clean", set_index, 0)
    assert rig.memory(PAGE, 2) == b"\0\0"
    rig.cache.apply_set_way()
    assert rig.memory(PAGE, 2) == b"sw"


def test_a_fully_cleaned_page_rearms_store_tracking_at_the_slice_end():
    rig = Rig()
    rig.map(PAGE, access=AccessType.WRITE)
    rig.cpu_store(PAGE, b"x")
    rig.cache.clean(PAGE, 1)
    flushes = rig.tlb_flushes
    rig.cache.slice_end()
    assert rig.tlb_flushes == flushes + 1
    assert not rig.map(PAGE)[1] & PROT_WRITE


@pytest.mark.parametrize(
    "text, policy, size, ways",
    [
        ("worst-case", Policy.WORST_CASE, 32768, 4),
        ("off", Policy.OFF, 32768, 4),
        ("lru,size=64K,ways=8", Policy.LRU, 65536, 8),
    ],
)
def test_cache_policies_parse_from_the_command_line(text, policy, size, ways):
    assert CacheConfig.parse(text) == CacheConfig(policy, size, ways)


@pytest.mark.parametrize("text", ["random", "lru,size=3K", "off,ways=2", "lru,colour=red"])
def test_bad_cache_policies_are_one_line_errors(text):
    with pytest.raises(BoardError):
        CacheConfig.parse(text)
