"""MMIO accessors and barriers: arch/arm/include/asm/io.h, arch/x86/include/asm/io.h,
include/asm-generic/io.h, lib/iomap.c, asm/barrier.h.

`readl(addr)` / `writel(value, addr)` and friends take an address from ioremap() and access
it as a CPU load or store (`kernel.mem_read` / `mem_write`): through the kernel page tables,
the walker, and — for a register block — the bus to the device model; for memory behind an
ioremap_wc/ioremap_cache mapping, through the cache model's views. Widths: b = 8, w = 16,
l = 32 bits; little-endian like both boards.

Ordering as Linux defines it:

- ARM: `writel(v, a)` = `__iowmb()` (wmb) then the store; `readl(a)` = the load then
  `__iormb()` (rmb). The `_relaxed` forms have no barrier.
- x86: the accessors are plain `mov`s (x86 orders uncached accesses itself); relaxed and
  non-relaxed forms are the same.
- `wmb()`/`mb()` (ARM `dsb st`/`dsb`, x86 `sfence`/`mfence`) drain the write-combining and
  write-through buffers of the cache model (`kernel.cache.drain()`); ARM `rmb()` (`dsb`) does
  too, x86 `rmb()` (`lfence`) does not.
- The hardware itself drains those buffers before any access to a register block
  (datasheet §3: "at an uncached access"), so on this SoC even a relaxed MMIO access orders
  earlier write-combined stores before it. Real ARM parts do not promise that (device and
  normal non-cacheable accesses are unordered): drivers keep using the non-relaxed forms.

A register block answers a bad width or alignment with a bus error (datasheet §1). Python
kernel code gets an oops: a BUG report naming the device, the offset and the width, then a
`BusErrorOops` exception (a KernelBug) in the driver. An access to an address that is not
mapped (after iounmap, past the end of a mapping) reports "Unable to handle kernel paging
request" and raises the walker's TranslationFault.

Not modelled: the x86 port-I/O forms (inb/outb; soclab has no I/O ports), big-endian
accessors, `ioread*_rep`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NoReturn, TypeVar

from emulator.bus import BusErrorResponse, BusFault
from emulator.cpu.base import TranslationFault
from emulator.kernel.core import PAGE_SIZE, Kernel, KernelBug, current_kernel

T = TypeVar("T")


class BusErrorOops(KernelBug):
    """A bus error on an MMIO access from Python kernel code (the driver's oops)."""

    def __init__(self, device: str, offset: int, width: int, is_write: bool, vaddr: int) -> None:
        kind = "write" if is_write else "read"
        super().__init__(
            f"bus error: {width}-bit {kind} of {device} at offset {offset:#05x} (VA {vaddr:#010x})"
        )
        self.device = device
        self.offset = offset
        self.width = width
        self.is_write = is_write
        self.vaddr = vaddr


def _cpu_access(k: Kernel, vaddr: int, size: int, is_write: bool, fn: Callable[[], T]) -> T:
    """Run one CPU access; turn the bus's error response into the driver's oops."""
    bus = k.machine.bus
    try:
        return fn()
    except BusErrorResponse as e:
        region = bus.find_mmio(e.paddr)
        name = region.name if region is not None else "?"
        offset = e.paddr - region.base if region is not None else e.paddr
        _oops(k, name, offset, size, is_write, vaddr, e.paddr, str(e))
    except BusFault as e:
        _oops(k, "no device", 0, size, is_write, vaddr, None, str(e))
    except TranslationFault:
        k.bug(
            f"Unable to handle kernel paging request at virtual address {vaddr:08x}",
            f"{'write' if is_write else 'read'} of {size} byte(s): nothing is mapped there "
            "(iounmap'ed, or past the end of the mapping)",
        )
        raise


def _oops(
    k: Kernel,
    device: str,
    offset: int,
    size: int,
    is_write: bool,
    vaddr: int,
    paddr: int | None,
    message: str,
) -> NoReturn:
    oops = BusErrorOops(device, offset, size * 8, is_write, vaddr)
    where = f"physical {paddr:#010x}" if paddr is not None else "no physical target"
    try:
        k.bug(str(oops), f"{message} ({where}): an external abort on a kernel access")
    except KernelBug as e:
        raise oops from e
    raise oops


def _read(addr: int, size: int) -> int:
    k = current_kernel()
    data = _cpu_access(k, addr, size, False, lambda: k.mem_read(addr, size))
    return int.from_bytes(data, "little")


def _write(value: int, addr: int, size: int) -> None:
    k = current_kernel()
    data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    _cpu_access(k, addr, size, True, lambda: k.mem_write(addr, data))


def _is_arm() -> bool:
    return bool(current_kernel().machine.board.arch == "armv7")


# -- barriers --------------------------------------------------------------------------------


def mb() -> None:
    """mb(): full barrier (ARM dsb, x86 mfence): buffered writes reach memory."""
    current_kernel().cache.drain()


def wmb() -> None:
    """wmb(): write barrier (ARM dsb st, x86 sfence): buffered writes reach memory."""
    current_kernel().cache.drain()


def rmb() -> None:
    """rmb(): read barrier (ARM dsb also drains writes; x86 lfence does not)."""
    if _is_arm():
        current_kernel().cache.drain()


def __iowmb() -> None:
    """The barrier before a non-relaxed MMIO write (ARM: wmb)."""
    if _is_arm():
        wmb()


def __iormb() -> None:
    """The barrier after a non-relaxed MMIO read (ARM: rmb)."""
    if _is_arm():
        rmb()


# -- relaxed accessors -----------------------------------------------------------------------


def readb_relaxed(addr: int) -> int:
    return _read(addr, 1)


def readw_relaxed(addr: int) -> int:
    return _read(addr, 2)


def readl_relaxed(addr: int) -> int:
    return _read(addr, 4)


def writeb_relaxed(value: int, addr: int) -> None:
    _write(value, addr, 1)


def writew_relaxed(value: int, addr: int) -> None:
    _write(value, addr, 2)


def writel_relaxed(value: int, addr: int) -> None:
    _write(value, addr, 4)


# -- ordered accessors -----------------------------------------------------------------------


def readb(addr: int) -> int:
    value = readb_relaxed(addr)
    __iormb()
    return value


def readw(addr: int) -> int:
    value = readw_relaxed(addr)
    __iormb()
    return value


def readl(addr: int) -> int:
    """readl(): 32-bit MMIO load, ordered before later memory reads (ARM: then rmb)."""
    value = readl_relaxed(addr)
    __iormb()
    return value


def writeb(value: int, addr: int) -> None:
    __iowmb()
    writeb_relaxed(value, addr)


def writew(value: int, addr: int) -> None:
    __iowmb()
    writew_relaxed(value, addr)


def writel(value: int, addr: int) -> None:
    """writel(): 32-bit MMIO store after earlier memory writes (ARM: wmb first), so a device
    started by it sees a buffer the CPU wrote through a write-combining mapping."""
    __iowmb()
    writel_relaxed(value, addr)


# lib/iomap.c: without I/O ports, the iomap accessors are the ordered MMIO ones


def ioread8(addr: int) -> int:
    return readb(addr)


def ioread16(addr: int) -> int:
    return readw(addr)


def ioread32(addr: int) -> int:
    return readl(addr)


def iowrite8(value: int, addr: int) -> None:
    writeb(value, addr)


def iowrite16(value: int, addr: int) -> None:
    writew(value, addr)


def iowrite32(value: int, addr: int) -> None:
    writel(value, addr)


# -- block copies ----------------------------------------------------------------------------


def _is_memory(k: Kernel, vaddr: int) -> bool:
    found = k.pgtable.lookup(vaddr)
    return found is not None and k.machine.bus.find_memory(found[0]) is not None


def _chunks(addr: int, count: int) -> list[tuple[int, int]]:
    """asm-generic memcpy_toio's access pattern: bytes up to 4-byte alignment, 32-bit words,
    then a byte tail."""
    out: list[tuple[int, int]] = []
    while count and addr % 4:
        out.append((addr, 1))
        addr, count = addr + 1, count - 1
    while count >= 4:
        out.append((addr, 4))
        addr, count = addr + 4, count - 4
    while count:
        out.append((addr, 1))
        addr, count = addr + 1, count - 1
    return out


def _pages(addr: int, count: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    while count > 0:
        n = min(count, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
        out.append((addr, n))
        addr, count = addr + n, count - n
    return out


def memcpy_fromio(to: int | bytearray, src: int, count: int) -> None:
    """memcpy_fromio(): copy `count` bytes from I/O memory into a kernel buffer (a kernel
    virtual address, or a Python bytearray for driver-local data)."""
    k = current_kernel()
    out = bytearray()
    for page, n in _pages(src, count):
        if _is_memory(k, page):
            out += _cpu_access(k, page, n, False, partial(k.mem_read, page, n))
        else:
            for a, w in _chunks(page, n):
                out += _read(a, w).to_bytes(w, "little")
    if isinstance(to, bytearray):
        to[:count] = out
    else:
        k.mem_write(to, bytes(out))


def memcpy_toio(dst: int, src: int | bytes | bytearray, count: int) -> None:
    """memcpy_toio(): copy `count` bytes to I/O memory from a kernel buffer (a kernel virtual
    address, or bytes)."""
    k = current_kernel()
    data = k.mem_read(src, count) if isinstance(src, int) else bytes(src[:count])
    _write_block(k, dst, data)


def memset_io(dst: int, value: int, count: int) -> None:
    """memset_io(): fill `count` bytes of I/O memory with a byte value."""
    k = current_kernel()
    _write_block(k, dst, bytes([value & 0xFF]) * count)


def _write_block(k: Kernel, dst: int, data: bytes) -> None:
    pos = 0
    for page, n in _pages(dst, len(data)):
        chunk = data[pos : pos + n]
        if _is_memory(k, page):
            _cpu_access(k, page, n, True, partial(k.mem_write, page, chunk))
        else:
            for a, w in _chunks(page, n):
                _write(int.from_bytes(chunk[a - page : a - page + w], "little"), a, w)
        pos += n
