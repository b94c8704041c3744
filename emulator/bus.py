"""The physical bus: memory regions, register blocks, and the address spaces bus masters use.

Memory-like regions (DRAM, VRAM) are host buffers mapped into Unicorn's physical space twice
(ARCHITECTURE.md §2): the *memory view* at the region's real address — what bus masters see —
and the *cache view*, an alias at `CACHE_VIEW_OFFSET` above it, which the TLB points at for
cacheable mappings. Register blocks are MMIO regions whose accesses go to a device's
`mmio_read`/`mmio_write`. An access that hits nothing is a bus error (datasheet §1).

Bus masters never see the Unicorn object: they get a `DmaAddressSpace` (QEMU's `dma` link,
gem5's `DmaPort`) that checks the address against the master's address width and the memory map.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NewType, Protocol

PhysAddr = NewType("PhysAddr", int)
DmaAddr = NewType("DmaAddr", int)

#: Offset of the cache-view alias of every memory region (above 4 GiB: free on ARM and x86).
CACHE_VIEW_OFFSET = 0x1_0000_0000


class MmioDevice(Protocol):
    name: str

    def mmio_read(self, offset: int, size: int) -> int | None: ...

    def mmio_write(self, offset: int, size: int, value: int) -> bool: ...


@dataclass(eq=False)
class MemoryRegion:
    """A memory-like region; `mem` is the memory view, `cache` the cache view's bytes."""

    name: str
    base: int
    size: int
    mem: mmap.mmap = field(repr=False)
    cache: mmap.mmap = field(repr=False)
    wc: mmap.mmap = field(repr=False)

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, addr: int, size: int = 1) -> bool:
        return self.base <= addr and addr + size <= self.end


@dataclass(eq=False)
class MmioRegion:
    name: str
    base: int
    size: int
    device: MmioDevice

    @property
    def end(self) -> int:
        return self.base + self.size


class BusFault(Exception):
    """A bus-master or debugger access to an address no memory answers."""


class BusErrorResponse(BusFault):
    """A register block answered a Python (kernel-side) CPU access with an error."""

    def __init__(self, paddr: int, message: str) -> None:
        super().__init__(message)
        self.paddr = paddr


class CoherenceObserver(Protocol):
    """The CPU's data cache as bus masters meet it (emulator.cache.CacheModel)."""

    def device_read(self, paddr: int, size: int, who: str, coherent: bool) -> None: ...

    def device_write(self, paddr: int, size: int, who: str, coherent: bool) -> None: ...


class PhysBus:
    def __init__(self, log: Callable[[str], None] | None = None) -> None:
        self.cache: CoherenceObserver | None = None
        self.memory: list[MemoryRegion] = []
        self.mmio: list[MmioRegion] = []
        self._log = log or (lambda msg: print(msg, file=sys.stderr))
        self._reported: set[tuple[str, int, str]] = set()
        self.guest_errors = 0
        #: Set by the machine: called with (phys address, size, is_write, message) when a CPU
        #: access gets an error response, so the run loop can raise the architectural abort.
        self.on_cpu_bus_error: Callable[[int, int, bool, str], None] = self._default_bus_error

    def _check_free(self, name: str, base: int, size: int) -> None:
        if size <= 0 or base < 0:
            raise ValueError(f"{name}: bad region {base:#x}+{size:#x}")
        regions: list[MemoryRegion | MmioRegion] = [*self.memory, *self.mmio]
        for r in regions:
            if base < r.end and r.base < base + size:
                raise ValueError(
                    f"{name} at {base:#x}..{base + size - 1:#x} overlaps {r.name} at "
                    f"{r.base:#x}..{r.end - 1:#x}"
                )

    def add_memory(self, name: str, base: int, size: int) -> MemoryRegion:
        self._check_free(name, base, size)
        region = MemoryRegion(
            name, base, size, mmap.mmap(-1, size), mmap.mmap(-1, size), mmap.mmap(-1, size)
        )
        self.memory.append(region)
        return region

    def add_mmio(self, name: str, base: int, size: int, device: MmioDevice) -> MmioRegion:
        self._check_free(name, base, size)
        region = MmioRegion(name, base, size, device)
        self.mmio.append(region)
        return region

    def find_memory(self, addr: int, size: int = 1) -> MemoryRegion | None:
        for r in self.memory:
            if r.contains(addr, size):
                return r
        return None

    def find_mmio(self, addr: int) -> MmioRegion | None:
        for r in self.mmio:
            if r.base <= addr < r.end:
                return r
        return None

    # -- memory-view access (what a non-coherent bus master sees) --------------------------

    def read(self, addr: int, size: int) -> bytes:
        r = self.find_memory(addr, size)
        if r is None:
            raise BusFault(f"no memory at {addr:#x}..{addr + size - 1:#x}")
        off = addr - r.base
        return r.mem[off : off + size]

    def write(self, addr: int, data: bytes) -> None:
        r = self.find_memory(addr, len(data))
        if r is None:
            raise BusFault(f"no memory at {addr:#x}..{addr + len(data) - 1:#x}")
        off = addr - r.base
        r.mem[off : off + len(data)] = data

    # -- guest errors -------------------------------------------------------------------

    def guest_error(self, device: str, offset: int, kind: str, message: str) -> None:
        """Report a guest programming error once per (device, offset, kind), like QEMU's
        LOG_GUEST_ERROR; every occurrence is counted."""
        self.guest_errors += 1
        key = (device, offset, kind)
        if key not in self._reported:
            self._reported.add(key)
            self._log(f"soclab: guest error: {message}")

    def _default_bus_error(self, addr: int, size: int, is_write: bool, message: str) -> None:
        raise BusFault(message)

    # -- CPU access to register blocks ------------------------------------------------------

    def mmio_read(self, region: MmioRegion, offset: int, size: int) -> int:
        from emulator.regs import BusError

        dev = region.device
        try:
            value = dev.mmio_read(offset, size)
        except BusError as e:
            self.on_cpu_bus_error(region.base + offset, size, False, f"bus error: {e}")
            return 0
        if value is None:
            self.guest_error(
                dev.name,
                offset,
                "r",
                f"{dev.name}: read of unimplemented offset {offset:#05x} (reads as 0)",
            )
            return 0
        return value

    def mmio_write(self, region: MmioRegion, offset: int, size: int, value: int) -> None:
        from emulator.regs import BusError

        dev = region.device
        try:
            ok = dev.mmio_write(offset, size, value)
        except BusError as e:
            self.on_cpu_bus_error(region.base + offset, size, True, f"bus error: {e}")
            return
        if not ok:
            self.guest_error(
                dev.name,
                offset,
                "w",
                f"{dev.name}: write of {value:#x} to unimplemented offset {offset:#05x} (ignored)",
            )


def buffer_address(buf: mmap.mmap) -> int:
    """Host address of an mmap'd buffer, for `uc.mem_map_ptr`."""
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


class DmaError(Exception):
    """A bus-master access outside memory or beyond the master's address width."""


class DmaAddressSpace:
    """What one bus master sees: memory regions, limited to `addr_bits` address bits.

    A non-coherent master reads and writes the memory view only, and the cache model is told
    (it reports lines the master misses). A coherent master snoops: the cache supplies dirty
    lines it reads, and lines it writes are updated in the cache.
    """

    def __init__(self, bus: PhysBus, coherent: bool, addr_bits: int = 32, name: str = "dma"):
        self.bus = bus
        self.coherent = coherent
        self.addr_bits = addr_bits
        self.name = name

    def _check(self, addr: int, size: int) -> MemoryRegion:
        if size < 0 or addr < 0 or addr + size > (1 << self.addr_bits):
            raise DmaError(f"bus address {addr:#x} (+{size:#x}) beyond {self.addr_bits} bits")
        r = self.bus.find_memory(addr, max(size, 1))
        if r is None:
            raise DmaError(f"no memory at bus address {addr:#x} (+{size:#x})")
        return r

    def read(self, addr: int, size: int) -> bytes:
        r = self._check(addr, size)
        if self.bus.cache is not None:
            self.bus.cache.device_read(addr, size, self.name, self.coherent)
        off = addr - r.base
        return r.mem[off : off + size]

    def write(self, addr: int, data: bytes) -> None:
        r = self._check(addr, len(data))
        cache = self.bus.cache
        if cache is not None and self.coherent:
            cache.device_read(addr, len(data), self.name, True)  # merge with dirty lines
        off = addr - r.base
        r.mem[off : off + len(data)] = data
        if cache is not None:
            cache.device_write(addr, len(data), self.name, self.coherent)

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def write_u32(self, addr: int, value: int) -> None:
        self.write(addr, (value & 0xFFFF_FFFF).to_bytes(4, "little"))

    def valid(self, addr: int, size: int) -> bool:
        try:
            self._check(addr, size)
        except DmaError:
            return False
        return True
