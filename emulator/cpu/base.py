"""The CPU: Unicorn plus what Unicorn leaves to us (ARCHITECTURE.md §1, §3, §4).

Unicorn runs guest code in slices. Python owns the page-granular and event-granular work only:

- TLB fills (`UC_TLB_VIRTUAL` + one `UC_HOOK_TLB_FILL` hook): the architecture's walker
  decides where each page lives; with the MMU off it is the identity map.
- Virtual time: the native block counter (emulator/native) counts instructions and stops the
  slice at the next device deadline.
- Exceptions: Unicorn reports them (`UC_HOOK_INTR`, `UC_ERR_INSN_INVALID`) before any
  architectural entry happens, so the run loop performs the entry itself, per architecture.
  A `trap_handler` (the kernel model's system-call entry) may instead finish an exception
  inside the hook, and the guest runs on without leaving Unicorn (see `_on_intr`).
- Instructions Unicorn treats as no-ops or stops on (ARM `wfi`) are found by scanning each
  executable page for their encodings when it is first mapped, and hooked at exactly those
  addresses (`UC_HOOK_CODE` with begin == end costs nothing elsewhere). x86 `hlt` needs no
  hook: Unicorn stops after it by itself, and the run loop recognises that stop.

No `UC_HOOK_MEM_*` hook is ever registered, and nothing runs per instruction.
"""

from __future__ import annotations

import ctypes
import enum
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import unicorn
from unicorn import Uc, UcError
from unicorn.unicorn_py3 import unicorn as _ucpy

from emulator.bus import (
    CACHE_VIEW_OFFSET,
    BusErrorResponse,
    BusFault,
    MmioRegion,
    PhysBus,
    buffer_address,
)
from emulator.cache import WC_VIEW_OFFSET, CacheModel
from emulator.mmu import PROT_EXEC, AccessType, Translation, WalkFault
from emulator.native import BlockCounter

if TYPE_CHECKING:
    from emulator.machine import Machine

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)
#: `emu_start`'s `until` (ignored: the CPU runs with an empty list of exits).
NEVER = 0xFFFF_FFFF_FFFF_FFF0


class Stop(enum.Enum):
    """Why a slice ended."""

    DEADLINE = "deadline"  # the block counter reached the next event or --max-insns
    REQUESTED = "requested"  # a device asked (EXIT, IRQ raised) or a hook stopped it
    EXCEPTION = "exception"  # Unicorn reported a CPU exception (svc, abort, int n, ...)
    INVALID = "invalid"  # undefined instruction
    UNMAPPED = "unmapped"  # an access to an address no memory or device answers
    BUS_ERROR = "bus error"  # a register block answered with an error (bad width)


@dataclass
class Fault:
    """A synchronous event the run loop must deliver to the guest (or report)."""

    kind: str  # "svc", "undef", "prefetch", "data", "int", "bkpt", ...
    pc: int
    addr: int = 0
    is_write: bool = False
    intno: int = 0
    message: str = ""
    status: int | None = None  # architectural fault status, when the walker decided it
    access: str = ""  # "read", "write" or "fetch" for a translation fault from the walker


class TranslationFault(Exception):
    """A Python-side translation that faulted."""

    def __init__(self, fault: WalkFault) -> None:
        super().__init__(f"{fault.kind} fault at VA {fault.vaddr:#x} ({fault.access.value})")
        self.fault = fault


_ACCESS = {
    unicorn.UC_MEM_READ: AccessType.READ,
    unicorn.UC_MEM_WRITE: AccessType.WRITE,
    unicorn.UC_MEM_FETCH: AccessType.FETCH,
}


class GuestStop(Exception):
    """The guest cannot go on (no vector for a fault, triple fault); ends the run."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RegBatch:
    """Reads a fixed list of registers with one `uc_reg_read_batch` call (ctypes, about as
    cheap as a single `reg_fast`)."""

    def __init__(self, cpu: Cpu, reg_ids: Sequence[int]) -> None:
        n = len(reg_ids)
        self._uch = cpu._uch
        self._n = n
        self._ids = (ctypes.c_int * n)(*reg_ids)
        # 64-bit slots, zeroed once: the 32-bit registers only ever write their low half
        self._vals = (ctypes.c_uint64 * n)()
        base = ctypes.addressof(self._vals)
        self._ptrs = (ctypes.c_void_p * n)(*(base + 8 * i for i in range(n)))
        self._read = _ucpy.uclib.uc_reg_read_batch

    def read(self) -> list[int]:
        self._read(self._uch, self._ids, self._ptrs, self._n)
        return self._vals[:]


class Cpu:
    arch: str = ""
    pc_reg: int = 0
    line_size: int = 32

    def __init__(self, machine: Machine, uc: Uc) -> None:
        self.machine = machine
        self.bus: PhysBus = machine.bus
        self.uc = uc
        self.halted = False
        self.tlb_fills = 0
        # uc_reg_read called directly: 0.7 us instead of the binding's 2 us (ARCHITECTURE §3)
        self._uch = uc._uch
        self._reg_read = _ucpy.uclib.uc_reg_read
        self._reg_buf = ctypes.c_uint64()
        self._reg_ref = ctypes.byref(self._reg_buf)
        self._reg_write = _ucpy.uclib.uc_reg_write
        self._reg_wbuf = ctypes.c_uint64()
        self._reg_wref = ctypes.byref(self._reg_wbuf)
        self._batches: dict[tuple[int, ...], RegBatch] = {}
        self._utlb: dict[tuple[int, AccessType], int] = {}  # user_paddr's page -> physical
        #: finishes a CPU exception (by number) inside Unicorn's interrupt hook; True if it
        #: did (_on_intr)
        self.trap_handler: Callable[[int], bool] | None = None
        self.in_trap = False  # the trap handler is running (Python kernel code, in the hook)
        self.fill_times: list[float] | None = None  # set to a list to time every fill
        self.fault: Fault | None = None
        #: the kernel model's page-fault handler, tried inside the fill (demand paging)
        self.fault_fixup: Callable[[int, bool, bool], bool] | None = None
        self._exception_taken = False  # a walk fault or CPU exception ended this slice
        self._stopping = False  # request_stop() from a hook: nothing more runs this slice
        self.unbacked: int | None = None
        self._scanned: set[tuple[int, int]] = set()  # (virtual page, physical page)
        self._special: dict[int, Callable[[int], bool]] = {}
        self._hooks: list[int] = []
        uc.ctl_set_tlb_mode(unicorn.UC_TLB_VIRTUAL)  # type: ignore[attr-defined]
        # No exit address: `emu_start`'s `until` is ignored. With one, Unicorn invalidates
        # the code at `until` whenever emulation stops or a hook writes the PC, which is a
        # fetch-TLB fill of that page: a failed walk, and a spurious fault after a PC write.
        uc.ctl_exits_enabled(True)
        self._hook_error: BaseException | None = None
        # Both hooks are ctypes callbacks registered with uc_hook_add directly: the binding's
        # wrapper frames cost a noticeable part of a system call or a demand fault.
        self._fill_cb = _ucpy.HOOK_TLB_FILL_CFUNC(self._tlb_fill)
        self._intr_cb = _ucpy.HOOK_INTR_CFUNC(self._on_intr)
        for kind, cb in (
            (unicorn.UC_HOOK_TLB_FILL, self._fill_cb),
            (unicorn.UC_HOOK_INTR, self._intr_cb),
        ):
            handle = _ucpy.uc_hook_h()
            err = _ucpy.uclib.uc_hook_add(
                uc._uch,
                ctypes.byref(handle),
                kind,
                ctypes.cast(cb, ctypes.c_void_p),
                None,
                ctypes.c_uint64(1),
                ctypes.c_uint64(0),
            )
            if err != unicorn.UC_ERR_OK:
                raise UcError(err)
            self._hooks.append(handle.value)
        self._map_bus()
        self.cache: CacheModel | None = None
        self.counter = BlockCounter(uc, self.count_block)
        self.stop_requested = False

    # -- the physical address space -------------------------------------------------------

    def _map_bus(self) -> None:
        uc = self.uc
        perms = unicorn.UC_PROT_ALL
        for r in self.bus.memory:
            uc.mem_map_ptr(r.base, r.size, perms, buffer_address(r.mem))
            uc.mem_map_ptr(r.base + CACHE_VIEW_OFFSET, r.size, perms, buffer_address(r.cache))
            uc.mem_map_ptr(r.base + WC_VIEW_OFFSET, r.size, perms, buffer_address(r.wc))
        for m in self.bus.mmio:
            self._map_mmio(m)

    def _map_mmio(self, m: MmioRegion) -> None:
        bus = self.bus

        def read(uc: Uc, offset: int, size: int, region: MmioRegion) -> int:
            self._uncached_access()
            return bus.mmio_read(region, offset, size)

        def write(uc: Uc, offset: int, size: int, value: int, region: MmioRegion) -> None:
            self._uncached_access()
            bus.mmio_write(region, offset, size, value)

        self.uc.mmio_map(m.base, m.size, read, m, write, m)

    def _uncached_access(self) -> None:
        """A device access orders buffered writes before it (datasheet §3)."""
        cache = self.cache
        if cache is not None and (cache.wc_pages or cache.wt_pages):
            cache.drain()

    def flush_tlb(self) -> None:
        """Drop every TLB entry (after Python changed live page tables or views)."""
        self.uc.ctl(unicorn.UC_CTL_TLB_FLUSH, unicorn.UC_CTL_IO_WRITE)
        self._utlb.clear()

    # -- translation ------------------------------------------------------------------------

    def walk(self, vaddr: int, access: AccessType, user: bool) -> Translation | WalkFault:
        """The architecture's translation of `vaddr` (MMU off: the identity)."""
        raise NotImplementedError

    def is_user(self) -> bool:
        raise NotImplementedError

    def mappings(self, user: bool = False) -> Iterator[Translation]:
        raise NotImplementedError

    def dump_page_tables(self, markers: Sequence[tuple[int, str]] = ()) -> str:
        raise NotImplementedError

    def fault_from_walk(self, wf: WalkFault, pc: int) -> Fault:
        raise NotImplementedError

    def _tlb_fill(self, uch: object, vaddr: int, access: int, entry: Any, _: object) -> bool:
        """A TLB miss: fill `entry` (a uc_tlb_entry pointer) or refuse (the access faults)."""
        try:
            if self.fill_times is None:
                return self._fill(vaddr, access, entry[0])
            t = time.perf_counter()
            ok = self._fill(vaddr, access, entry[0])
            self.fill_times.append(time.perf_counter() - t)
            return ok
        except BaseException as e:  # noqa: BLE001 - must not unwind through C: re-raised
            if self._hook_error is None:
                self._hook_error = e
            self.request_stop()
            self.uc.emu_stop()
            return False

    def _fill(self, vaddr: int, access: int, entry: object) -> bool:
        if self._exception_taken or self._stopping:
            # The slice already ended in an exception; Unicorn still probes a fetch of the
            # last page before it stops. Nothing will run there: refuse without walking.
            # Likewise after a stop request from a hook (a system call that exited or
            # blocked the task): the next block is translated before the stop takes
            # effect, perhaps in an address space that is gone.
            return False
        self.tlb_fills += 1
        acc = _ACCESS.get(access, AccessType.READ)
        user = self.is_user()
        res = self.walk(vaddr, acc, user)
        if isinstance(res, WalkFault) and user and self.fault_fixup is not None:
            # A fault the kernel model fixes at once (demand-zero, copy-on-write): the fill
            # completes on the new PTE and the access never leaves Unicorn.
            write, fetch = acc is AccessType.WRITE, acc is AccessType.FETCH
            if self.fault is None and self.fault_fixup(vaddr, write, fetch):
                res = self.walk(vaddr, acc, user)
        if isinstance(res, WalkFault):
            # The first fault of a slice is the real one: after it Unicorn probes other
            # addresses (a fetch of the last page) that must not replace it.
            if self.fault is None:
                self.fault = self.fault_from_walk(res, self.pc)
            self._exception_taken = True
            return False
        ppage = res.paddr & PAGE_MASK
        if self.cache is not None:
            view, prot = self.cache.map_page(ppage, res.memtype, vaddr, acc, self.pc_now)
        else:
            view, prot = ppage, unicorn.UC_PROT_ALL
        prot &= res.prot
        if prot & PROT_EXEC and (vaddr & PAGE_MASK, ppage) not in self._scanned:
            # Code pages are scanned for the instructions that need Python when code is
            # first fetched from them. A data access fills without execute permission, so
            # that a later fetch refills — and scans. Hooks are by virtual address.
            if acc is AccessType.FETCH:
                self._scan_page(vaddr & PAGE_MASK, ppage)
            else:
                prot &= ~PROT_EXEC
        entry.paddr = view  # type: ignore[attr-defined]
        entry.perms = prot  # type: ignore[attr-defined]
        if self.unbacked is None and vaddr <= 0xFFFF_FFFF and self.bus.find_memory(ppage) is None:
            if self.bus.find_mmio(ppage) is None:
                self.unbacked = vaddr  # the access will fail as unmapped: remember the address
        return True

    def translate(
        self, vaddr: int, access: AccessType = AccessType.READ, user: bool = False
    ) -> Translation:
        """Translate as the CPU would for Python code (kernel model, tools); a fault raises."""
        res = self.walk(vaddr, access, user)
        if isinstance(res, WalkFault):
            raise TranslationFault(res)
        return res

    def user_paddr(self, vaddr: int, access: AccessType) -> int:
        """The physical address of a user-mode access the kernel makes for a system call
        (uaccess), through a small software TLB of 4 KiB pages. It is dropped with Unicorn's
        TLB (`flush_tlb`: Python changed live tables, TTBR0/CR3, DACR...) and when guest
        code changes the translation registers or does TLB maintenance. A fault raises
        TranslationFault and is not remembered."""
        key = (vaddr & PAGE_MASK, access)
        base = self._utlb.get(key)
        if base is None:
            base = self.translate(vaddr, access, user=True).paddr & PAGE_MASK
            if len(self._utlb) >= 64:
                self._utlb.clear()
            self._utlb[key] = base
        return base | (vaddr & ~PAGE_MASK)

    def virt_to_phys(self, vaddr: int) -> int:
        return self.translate(vaddr).paddr

    def read_virt(self, vaddr: int, size: int) -> bytes:
        """Read through the CPU's view: the same translation and cache view as guest code."""
        out = bytearray()
        while size > 0:
            n = min(size, PAGE_SIZE - (vaddr & (PAGE_SIZE - 1)))
            out += self._access(vaddr, n, None)
            vaddr += n
            size -= n
        return bytes(out)

    def write_virt(self, vaddr: int, data: bytes) -> None:
        """Write through the CPU's view: a store Python kernel code makes."""
        view = memoryview(data)
        while view:
            n = min(len(view), PAGE_SIZE - (vaddr & (PAGE_SIZE - 1)))
            self._access(vaddr, n, bytes(view[:n]))
            vaddr += n
            view = view[n:]

    def cache_maintenance(self, op: str, vaddr: int, size: int) -> None:
        """Clean ("clean"), invalidate ("invalidate") or both ("flush") the data-cache lines
        of a virtual range, as the kernel's dma_sync / cache helpers do by VA."""
        if self.cache is None or size <= 0:
            return
        fn = {
            "clean": self.cache.clean,
            "invalidate": self.cache.invalidate,
            "flush": self.cache.flush,
        }[op]
        end = vaddr + size
        while vaddr < end:
            n = min(end - vaddr, PAGE_SIZE - (vaddr & (PAGE_SIZE - 1)))
            fn(self.translate(vaddr).paddr, n)
            vaddr += n

    def _access(self, vaddr: int, size: int, data: bytes | None) -> bytes:
        tr = self.translate(vaddr, AccessType.READ if data is None else AccessType.WRITE)
        pa = tr.paddr
        if self.bus.find_memory(pa, size) is None:
            region = self.bus.find_mmio(pa)
            if region is None:
                raise BusFault(f"no memory or device at physical {pa:#x} (VA {vaddr:#x})")
            self._uncached_access()
            if data is None:
                return self.bus.mmio_read(region, pa - region.base, size).to_bytes(size, "little")
            self.bus.mmio_write(region, pa - region.base, size, int.from_bytes(data, "little"))
            return b""
        if self.cache is None:
            if data is None:
                return self.bus.read(pa, size)
            self.bus.write(pa, data)
            return b""
        if data is None:
            return self.cache.cpu_read(pa, size, tr.memtype, vaddr)
        self.cache.cpu_write(pa, data, tr.memtype, vaddr)
        return b""

    # -- special instructions ----------------------------------------------------------------

    def _scan_page(self, vpage: int, ppage: int) -> None:
        self._scanned.add((vpage, ppage))
        region = self.bus.find_memory(ppage, PAGE_SIZE)
        if region is None:
            return
        code = region.mem[ppage - region.base : ppage - region.base + PAGE_SIZE]
        for offset, handler in self.find_special(code):
            self._hook_special(vpage + offset, handler)

    def find_special(self, code: bytes) -> list[tuple[int, Callable[[int], bool]]]:
        """(offset, handler) of instructions in a code page that need Python."""
        return []

    def _hook_special(self, addr: int, handler: Callable[[int], bool]) -> None:
        if addr in self._special:
            return
        self._special[addr] = handler

        def hook(uc: Uc, address: int, size: int, _: object) -> None:
            if handler(address):
                self.stop_requested = True
                uc.emu_stop()

        self._hooks.append(self.uc.hook_add(unicorn.UC_HOOK_CODE, hook, begin=addr, end=addr))

    # -- running ---------------------------------------------------------------------------

    def reg_fast(self, reg_id: int) -> int:
        """A register's value, read the fast way (hot paths: TLB fills, syscalls)."""
        self._reg_buf.value = 0  # narrower registers write fewer bytes
        self._reg_read(self._uch, reg_id, self._reg_ref)
        return self._reg_buf.value

    def reg_write_fast(self, reg_id: int, value: int) -> None:
        """Set a general register the fast way (not the PC: see `pc`)."""
        self._reg_wbuf.value = value
        self._reg_write(self._uch, reg_id, self._reg_wref)

    def reg_batch(self, reg_ids: tuple[int, ...]) -> list[int]:
        """Several registers read in one call (a system call's number and arguments)."""
        batch = self._batches.get(reg_ids)
        if batch is None:
            batch = self._batches[reg_ids] = RegBatch(self, reg_ids)
        return batch.read()

    def request_stop(self) -> None:
        """Stop before the next block, also from a hook that wrote the PC (Unicorn then
        drops an `emu_stop` and runs on at the new PC; the block counter still stops)."""
        self.counter.deadline = 0
        self._stopping = True
        self.stop_requested = True  # a stop with a known cause (not Unicorn's own, on a WFI)

    def pc_now(self) -> int:
        return self.reg_fast(self.pc_reg)

    @property
    def pc(self) -> int:
        return self.reg_fast(self.pc_reg)

    @pc.setter
    def pc(self, value: int) -> None:
        self.uc.reg_write(self.pc_reg, value)

    def start_address(self) -> int:
        return self.pc

    def run_slice(self) -> Stop:
        """Run until the deadline, a stop request or an exception."""
        self.fault = None
        self.unbacked = None
        self.stop_requested = False
        self._exception_taken = False
        self._stopping = False
        try:
            self.uc.emu_start(self.start_address(), NEVER)
        except UcError as e:
            self._raise_hook_error()
            return self._on_uc_error(e)
        self._raise_hook_error()
        if self.fault is not None:
            if not self.fault.pc:
                self.fault.pc = self.pc
            return Stop.BUS_ERROR if self.fault.message.startswith("bus error") else Stop.EXCEPTION
        if self.counter.take_stopped():
            return Stop.DEADLINE
        return Stop.REQUESTED

    def _raise_hook_error(self) -> None:
        """An exception from a hook called directly through ctypes surfaces here."""
        e = self._hook_error
        if e is not None:
            self._hook_error = None
            self.counter.take_stopped()
            raise e

    def _on_uc_error(self, e: UcError) -> Stop:
        self.counter.take_stopped()
        pc = self.pc
        if e.errno == unicorn.UC_ERR_INSN_INVALID:
            self.fault = Fault("undef", pc, message="undefined instruction")
            return Stop.INVALID
        unmapped = {
            unicorn.UC_ERR_READ_UNMAPPED: (False, "read"),
            unicorn.UC_ERR_WRITE_UNMAPPED: (True, "write"),
            unicorn.UC_ERR_FETCH_UNMAPPED: (False, "fetch"),
        }
        if e.errno in unmapped:
            is_write, kind = unmapped[e.errno]
            page = self.unbacked if self.unbacked is not None else pc
            self.unbacked = None
            self.fault = Fault(
                "prefetch" if kind == "fetch" else "data",
                pc,
                self.fault_address(pc, page, kind == "fetch"),
                is_write,
                message=f"bus error: {kind} of unmapped address",
            )
            return Stop.UNMAPPED
        if self.fault is not None:  # an exception a hook raised, already described
            f = self.fault
            if f.access:
                # the fill hook sees only the page: the exact address comes from the
                # faulting instruction, whose registers Unicorn has restored
                f.addr = self.fault_address(pc, f.addr, f.access == "fetch")
            return Stop.EXCEPTION
        if self._stopping:  # the refused fill after a hook's stop request: nothing ran
            return Stop.REQUESTED
        raise GuestStop(f"CPU error at pc={pc:#x}: {e}", 134)

    def fault_address(self, pc: int, page: int, fetch: bool) -> int:
        """The exact faulting address inside `page` (what the TLB-fill hook was given).

        A fetch faults at the PC when it is in that page (else at the page's start: the
        instruction straddles into it); a data access at the address the instruction at PC
        computes, when that falls in the page."""
        page &= PAGE_MASK
        if fetch:
            return pc if pc & PAGE_MASK == page else page
        try:
            ea = self.data_address(pc)
        except Exception:  # noqa: BLE001 - undecodable: the page is all we know
            ea = None
        if ea is None:
            return page
        if ea & PAGE_MASK == page:
            return ea
        return page  # the access began in the page before and crossed into this one

    def data_address(self, pc: int) -> int | None:
        """The first address the data access of the instruction at `pc` touches."""
        return None

    def _on_intr(self, uch: object, intno: int, _: object) -> None:
        """A CPU exception (a ctypes callback registered with uc_hook_add directly: the
        binding's wrapper frames cost a noticeable part of a system call).

        The trap handler may finish it here (a system call the kernel model completes
        without a task switch): the guest then runs on inside this same `emu_start`, at the
        PC the handler left, and virtual time is counted exactly as if the slice had ended
        here and the next one started (the block counter counts blocks as they are entered
        either way). Anything else ends the slice for the run loop."""
        try:
            handler = self.trap_handler
            if handler is not None:
                self.in_trap = True  # kernel code runs now, not guest code
                try:
                    if handler(intno):
                        return
                finally:
                    self.in_trap = False
            if not self._stopping:  # (else the refused fill of the stop's next block)
                self.fault = self.describe_intr(intno)
        except BaseException as e:  # noqa: BLE001 - must not unwind through C: re-raised
            if self._hook_error is None:
                self._hook_error = e
            self.request_stop()
            self.uc.emu_stop()
            return
        self._exception_taken = True
        self.uc.emu_stop()

    def describe_intr(self, intno: int) -> Fault:
        raise NotImplementedError

    # -- architecture hooks for the run loop ------------------------------------------------

    def count_block(self, addr: int, size: int) -> int:
        raise NotImplementedError

    def boot(self, entry: int, dtb_addr: int, scratch: int = 0) -> None:
        """Set the architectural boot state (datasheet §5). `scratch`: a free page in the
        boot area for whatever the architecture needs (the x86 boot GDT)."""
        raise NotImplementedError

    def resumed_at_wfi(self) -> bool:
        """True (and the CPU halted) if an unexplained stop was the CPU going to sleep."""
        return False

    def irq_masked(self) -> bool:
        raise NotImplementedError

    def take_irq(self) -> None:
        raise NotImplementedError

    def deliver(self, fault: Fault) -> None:
        raise NotImplementedError

    def bus_error(self, addr: int, size: int, is_write: bool, message: str) -> None:
        """A register block answered an access with an error: a synchronous abort.

        Unicorn restores the PC to the faulting instruction when stopped from an MMIO callback,
        so the abort is precise. An access Python kernel code made (no guest code running,
        or a system call inside the interrupt hook) gets the error as an exception instead."""
        if not self.machine.running or self.in_trap:
            raise BusErrorResponse(addr, message)
        self.fault = Fault("data", 0, addr, is_write, message=message)
        self.uc.emu_stop()

    def registers(self) -> dict[str, int]:
        raise NotImplementedError
