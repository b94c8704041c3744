"""The kernel: boot, the log, bug reports, and the kernel's own view of memory.

`Kernel(machine).boot()` does what start_kernel's memory part does on the real thing: it takes
the memory layout of the architecture (arch/*/mm.py: PAGE_OFFSET, lowmem limit, vmalloc area,
pkmap, fixmap, consistent-DMA area), reserves the "kernel image" (where swapper_pg_dir lives),
builds the kernel page tables in guest RAM in the architecture's real format, turns the MMU
on, and brings up the allocators. From then on every access Python kernel code makes —
`kernel.mem_read(va, n)`, `kernel.mem_write(va, data)` — goes through the walker and the
cache model exactly like a CPU load or store.

Linux-named module functions (kmalloc, alloc_pages, ioremap, ...) act on the *current* kernel,
the one booted last, as Linux's globals do: `current_kernel()`.

Reports follow the kernel's formats: `printk` keeps the log (dmesg), warnings and BUGs are
echoed to stderr with the Python caller that caused them (the driver's file:line).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.mmu import MemType

if TYPE_CHECKING:
    from emulator.machine import Machine

_current: Kernel | None = None

KERN_EMERG, KERN_ALERT, KERN_CRIT, KERN_ERR = "<0>", "<1>", "<2>", "<3>"
KERN_WARNING, KERN_NOTICE, KERN_INFO, KERN_DEBUG = "<4>", "<5>", "<6>", "<7>"

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)


class KernelBug(Exception):
    """Raised after a BUG() report when the kernel is strict (tests ask for it)."""


def current_kernel() -> Kernel:
    if _current is None:
        raise RuntimeError("no kernel booted: call Kernel(machine).boot() first")
    return _current


@dataclass
class ZoneSpec:
    name: str  # "DMA", "Normal", "HighMem" (as /proc/buddyinfo prints them)
    start_pfn: int
    end_pfn: int  # exclusive


@dataclass
class Layout:
    """The kernel's virtual memory layout (Documentation/arch/*/memory.rst)."""

    PAGE_OFFSET: int
    PHYS_OFFSET: int
    lowmem_end: int  # physical end of lowmem (exclusive)
    high_memory: int  # virtual address of the end of lowmem
    VMALLOC_START: int
    VMALLOC_END: int
    PKMAP_BASE: int
    LAST_PKMAP: int
    FIXADDR_START: int
    FIXADDR_TOP: int
    CONSISTENT_BASE: int  # consistent-DMA remap area (dma_alloc_coherent on non-coherent ARM)
    CONSISTENT_END: int
    MODULES_VADDR: int
    TASK_SIZE: int
    zones: list[ZoneSpec] = field(default_factory=list)
    reserved: list[tuple[int, int, str]] = field(default_factory=list)  # (pa, size, name)


class Kernel:
    def __init__(self, machine: Machine, strict: bool = False, echo: bool = True) -> None:
        self.machine = machine
        self.cpu = machine.cpu
        self.cache = machine.cache
        self.strict = strict  # BUG() raises KernelBug (tests); otherwise report and go on
        self.echo = echo
        self.dmesg: list[str] = []
        self.booted = False
        from emulator.kernel.context import ExecContext

        self.context = ExecContext(self)
        self.arch_entry: Any = None  # user-space entry: start_thread, syscalls, faults
        if machine.board.arch == "armv7":
            from emulator.kernel.arch.arm import entry as arch_entry
            from emulator.kernel.arch.arm import mm as arch_mm

            self.arch_entry = arch_entry
        else:
            from emulator.kernel.arch.x86 import entry as arch_entry  # type: ignore[no-redef]
            from emulator.kernel.arch.x86 import mm as arch_mm  # type: ignore[no-redef]

            self.arch_entry = arch_entry
        self.arch_mm: Any = arch_mm
        self.layout: Layout = arch_mm.make_layout(machine)
        self.pgtable: Any = None
        self.subsystems: dict[str, Any] = {}
        self.page_alloc: Any = None  # mm/page_alloc's node (PglistData), set at boot
        #: SLUB debugging, as the slub_debug= boot option: True = "FZPU", or a flag string
        #: ("ZP", "FZPU,kmalloc-"); set before boot().
        self.slub_debug: bool | str = False

    # -- boot ------------------------------------------------------------------------------

    def boot(self) -> Kernel:
        global _current
        _current = self
        self.pgtable = self.arch_mm.KernelPageTables(self)
        self.pgtable.paging_init()
        self._init_subsystems()
        self.booted = True
        self.machine.kernel = self
        self.printk(
            KERN_INFO,
            f"soclab kernel model: {self.machine.board.model}, "
            f"{self.machine.board.ram_size >> 20} MiB RAM",
        )
        return self

    def _init_subsystems(self) -> None:
        """mm_init() and the rest of start_kernel's init: the allocators in Linux's order,
        then resources, the VFS and the character devices (importing a module registers its
        boot hook, so the imports fix the order)."""
        from emulator.kernel import (
            pgrp,  # noqa: F401
            resource,  # noqa: F401
            signal,  # noqa: F401
        )
        from emulator.kernel import sys as _kernel_sys  # noqa: F401 - sysinfo, prctl
        from emulator.kernel.drivers.char import mem, misc  # noqa: F401
        from emulator.kernel.drivers.tty import console  # noqa: F401
        from emulator.kernel.fs import (
            namei_syscalls,  # noqa: F401
            vfs,  # noqa: F401
        )
        from emulator.kernel.fs import syscalls as fs_syscalls  # noqa: F401
        from emulator.kernel.mm import (  # noqa: F401
            highmem,
            ioremap,
            mempool,
            page_alloc,
            slab,
            vmalloc,
        )

        for hook in _INIT_HOOKS:
            hook(self)

    # -- memory, as kernel code sees it ------------------------------------------------------

    def mem_read(self, va: int, size: int) -> bytes:
        """Read kernel virtual memory: the walker and the cache view, as a CPU load."""
        return self.cpu.read_virt(va, size)

    def mem_write(self, va: int, data: bytes) -> None:
        """Write kernel virtual memory as a CPU store (it lands in the cache if cacheable)."""
        self.cpu.write_virt(va, bytes(data))

    def phys_read(self, pa: int, size: int) -> bytes:
        """Read physical memory as through the kernel's cacheable mapping of it."""
        if (pa & (PAGE_SIZE - 1)) + size <= PAGE_SIZE:
            return self.cache.cpu_read(pa, size, MemType.WRITE_BACK, pa)
        out = bytearray()
        while size > 0:
            n = min(size, PAGE_SIZE - (pa & (PAGE_SIZE - 1)))
            out += self.cache.cpu_read(pa, n, MemType.WRITE_BACK, pa)
            pa += n
            size -= n
        return bytes(out)

    def phys_write(self, pa: int, data: bytes) -> None:
        """Write physical memory as through the kernel's cacheable mapping of it (the linear
        map for lowmem, which is the address hazard reports then name)."""
        lay = self.layout
        if 0 < len(data) <= PAGE_SIZE - (pa & (PAGE_SIZE - 1)):  # within one page
            va = pa - lay.PHYS_OFFSET + lay.PAGE_OFFSET if pa < lay.lowmem_end else pa
            self.cache.cpu_write(pa, bytes(data), MemType.WRITE_BACK, va)
            return
        view = memoryview(bytes(data))
        while view:
            n = min(len(view), PAGE_SIZE - (pa & (PAGE_SIZE - 1)))
            va = pa - lay.PHYS_OFFSET + lay.PAGE_OFFSET if pa < lay.lowmem_end else pa
            self.cache.cpu_write(pa, bytes(view[:n]), MemType.WRITE_BACK, va)
            pa += n
            view = view[n:]

    # -- the log -----------------------------------------------------------------------------

    def printk(self, level: str, message: str) -> None:
        for line in message.splitlines() or [""]:
            self.dmesg.append(f"{level}{line}")
            if self.echo and level in (KERN_EMERG, KERN_ALERT, KERN_CRIT, KERN_ERR, KERN_WARNING):
                print(f"soclab: kernel: {line}", file=sys.stderr)

    def log_text(self) -> str:
        """dmesg without the level prefixes."""
        return "\n".join(line[3:] for line in self.dmesg)

    def warn(self, message: str, caller: str | None = None) -> None:
        """WARN(): a report with the caller; the kernel goes on."""
        where = caller or python_caller()
        self.printk(KERN_WARNING, f"WARNING: {message}\n  caller: {where}")

    def bug(self, title: str, details: str = "", caller: str | None = None) -> None:
        """An oops-style report of a misused API (BUG:, kernel BUG at ...)."""
        where = caller or python_caller()
        text = f"BUG: {title}"
        if details:
            text += "\n" + details
        text += f"\n  caller: {where}"
        self.printk(KERN_ERR, text)
        if self.strict:
            raise KernelBug(title)


_INIT_HOOKS: list[Callable[[Kernel], None]] = []


def mm_init_hook(fn: Callable[[Kernel], None]) -> Callable[[Kernel], None]:
    """Register a subsystem's boot-time initialisation (called in registration order)."""
    _INIT_HOOKS.append(fn)
    return fn


_OWN_DIRS = ("/emulator/kernel/", "/emulator/cpu/", "/emulator/cache.py", "/emulator/mmu/")


def python_caller() -> str:
    """The first Python frame outside the kernel model: the driver or test that called."""
    frame = sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if not any(d in path for d in _OWN_DIRS) and "/contextlib.py" not in path:
            return f"{frame.f_code.co_name} ({path.rsplit('/', 1)[-1]}:{frame.f_lineno})"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


# -- asm/memory.h: the linear map ----------------------------------------------------------------


def __pa(va: int) -> int:
    k = current_kernel()
    return va - k.layout.PAGE_OFFSET + k.layout.PHYS_OFFSET


def __va(pa: int) -> int:
    k = current_kernel()
    return pa - k.layout.PHYS_OFFSET + k.layout.PAGE_OFFSET


def virt_to_phys(va: int) -> int:
    """Only for lowmem linear-map addresses, as in Linux (vmalloc needs vmalloc_to_page)."""
    k = current_kernel()
    if not k.layout.PAGE_OFFSET <= va < k.layout.high_memory:
        k.bug(f"virt_to_phys used for non-linear address: {va:#010x}")
    return __pa(va)


def phys_to_virt(pa: int) -> int:
    return __va(pa)


def virt_addr_valid(va: int) -> bool:
    k = current_kernel()
    return k.layout.PAGE_OFFSET <= va < k.layout.high_memory
