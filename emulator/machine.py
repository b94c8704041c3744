"""The machine: a board's devicetree turned into bus, CPU, devices and clock, plus the run loop.

The run loop (ARCHITECTURE.md §4) runs the CPU in slices. Each slice ends at the next device
deadline (the native block counter stops the CPU there), when a device asks (syscon EXIT, a
rising interrupt line), or at a CPU exception. Between slices Python fires due events, takes
pending interrupts if the CPU has them unmasked (performing the architectural entry), delivers
exceptions, and when the CPU waits (`wfi`/`hlt`) jumps virtual time to the next event.

Under the kernel model a system call does not end the slice: it is finished inside Unicorn's
interrupt hook (`_kernel_trap`), and the slice ends at the next block only when the run loop
must switch tasks or the machine exits.

A pending interrupt the CPU has masked is polled with slices that start at 1000 instructions
and double up to 2^20, so an IRQ is taken soon after the guest unmasks it without slowing a
guest that keeps interrupts masked for long. All of it depends only on the instruction stream:
two runs of the same image give the same output, instruction counts and times.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devices import MODELS
from emulator.board import Board
from emulator.bus import PhysBus
from emulator.cache import CacheConfig, CacheModel, Hazard
from emulator.clock import Clock
from emulator.cpu.base import Cpu, GuestStop, Stop
from emulator.device import (
    BoardInfo,
    DeviceContext,
    HostConsole,
    SysBusDevice,
    UnimplementedDevice,
)
from emulator.irq import InterruptController
from emulator.loader import Image, LoadError, place
from emulator.native import NO_DEADLINE

#: The top 64 KiB of DRAM hold the boot data: the DTB, and on x86 the boot GDT.
BOOT_AREA = 0x10000

EXIT_TIMEOUT = 124  # like timeout(1): --max-insns reached, or the guest can never progress
EXIT_HAZARD = 125  # --stop-on-hazard: the first coherence hazard ended the run


@dataclass
class RunResult:
    status: int
    reason: str  # "exit", "max-insns", "deadlock", "guest-stop"
    message: str
    insns: int
    time_ns: int
    host_seconds: float


class Machine:
    def __init__(
        self,
        board: Board,
        console: HostConsole | None = None,
        ns_per_insn: int = 10,
        log: Callable[[str], None] | None = None,
        cache: CacheConfig | None = None,
        stop_on_hazard: bool = False,
    ) -> None:
        self.board = board
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.bus = PhysBus(self.log)
        self.clock = Clock(ns_per_insn)
        self.console = console or HostConsole()
        self.ram = self.bus.add_memory("dram", board.ram_base, board.ram_size)
        if board.vram is not None:
            self.bus.add_memory("vram", *board.vram)
        self.ctx = DeviceContext(
            self.clock,
            self.bus,
            BoardInfo(board.board_id, board.ram_base, board.ram_size),
            self.console,
            request_exit=self._request_exit,
            log=self.log,
        )
        self.devices: dict[str, SysBusDevice | UnimplementedDevice] = {}
        for node in board.devices:
            cls = next((MODELS[c] for c in node.compatible if c in MODELS), None)
            dev = cls(self.ctx, node) if cls is not None else UnimplementedDevice(self.ctx, node)
            base, size = node.reg[0]
            self.bus.add_mmio(node.name, base, size, dev)
            self.devices[node.name] = dev
        self.intc: InterruptController | None = next(
            (d for d in self.devices.values() if isinstance(d, InterruptController)), None
        )
        if self.intc is not None:
            intc = self.intc
            for n, line in self.ctx.irq_lines.items():
                line.connect(functools.partial(intc.set_input, n))
            intc.output.connect(self._irq_changed)
        self.cpu = self._make_cpu()
        self.bus.on_cpu_bus_error = self.cpu.bus_error
        self.cache = CacheModel(
            self.bus, self.cpu.line_size, cache or CacheConfig(), self.clock.now, self.cpu.flush_tlb
        )
        self.cache.on_hazard = self._on_hazard
        self.cpu.cache = self.cache
        self.bus.cache = self.cache
        self.stop_on_hazard = stop_on_hazard
        counter = self.cpu.counter
        self.clock.insns = lambda: counter.state.insns
        self.clock.on_reschedule = self._reschedule
        self.exit_status: int | None = None
        self.stop_reason: tuple[str, str] | None = None
        self.running = False
        self.image: Image | None = None
        #: the kernel model, once booted: it handles exceptions from user mode
        self.kernel: Any = None
        self._reported_undef: set[int] = set()
        self.cpu.trap_handler = self._kernel_trap

    def _make_cpu(self) -> Cpu:
        if self.board.arch == "armv7":
            from emulator.cpu.arm import ArmCpu

            return ArmCpu(self)
        from emulator.cpu.x86 import X86Cpu

        return X86Cpu(self)

    # -- boot -----------------------------------------------------------------------------

    @property
    def boot_area(self) -> int:
        return self.board.ram_base + self.board.ram_size - BOOT_AREA

    def boot_bare_metal(self, image: Image) -> None:
        """Datasheet §5: segments at their physical addresses, DTB in RAM, caches and MMU off."""
        dtb = self.board.dtb()
        if len(dtb) > BOOT_AREA - 0x100:
            raise LoadError(f"devicetree blob too large ({len(dtb)} bytes)")
        place(image, self.bus, [(self.boot_area, BOOT_AREA, "boot data (DTB)")])
        self.bus.write(self.boot_area, dtb)
        self.image = image
        if self.board.arch == "x86":
            self.cpu.boot(image.entry, self.boot_area, self.boot_area + BOOT_AREA - 0x100)
        else:
            self.cpu.boot(image.entry, self.boot_area)

    # -- device callbacks -----------------------------------------------------------------

    def _request_exit(self, status: int) -> None:
        if self.exit_status is None:
            self.exit_status = status
        if self.running:
            self.cpu.uc.emu_stop()

    def _irq_changed(self, level: bool) -> None:
        if level and self.running:
            self.cpu.counter.deadline = self.cpu.counter.insns

    def _reschedule(self) -> None:
        if self.running:
            self.cpu.counter.deadline = min(self.cpu.counter.deadline, self._event_deadline())

    def _on_hazard(self, hazard: Hazard) -> None:
        self.log(f"soclab: hazard: {hazard.describe(self._where)}")
        if self.stop_on_hazard and self.exit_status is None:
            self.exit_status = EXIT_HAZARD
            self.stop_reason = ("hazard", f"stopped at the first hazard ({hazard.kind.value})")
            if self.running:
                self.cpu.uc.emu_stop()

    def intc_pending_source(self) -> int | None:
        return self.intc.pending_source() if self.intc is not None else None

    def irq_pending(self) -> bool:
        return self.intc is not None and self.intc.output.level

    def _event_deadline(self) -> int:
        """Instruction count at which the next device event is due."""
        nxt = self.clock.next_deadline()
        if nxt is None:
            return NO_DEADLINE
        ns = self.clock.ns_per_insn
        return max(0, -(-(nxt - self.clock.idle_ns) // ns))

    # -- the run loop ----------------------------------------------------------------------

    def _kernel_trap(self, intno: int) -> bool:
        """A system call, finished inside Unicorn's interrupt hook (no slice end): the
        emu_stop / emu_start round trip was most of a call's cost. The slice still ends, at
        the next block, when the run loop has work: a task to switch to (the caller blocked
        or exited, or woke someone), or the machine's exit."""
        kernel = self.kernel
        if kernel is None or self.exit_status is not None:
            return False
        entry = kernel.arch_entry
        if intno != entry.SYSCALL_TRAP:
            return False
        entry.handle_syscall(kernel)
        pm = kernel.subsystems.get("process")
        if self.exit_status is not None or (pm is not None and pm.need_resched):
            self.cpu.request_stop()
        return True

    def _kernel_exit_work(self) -> None:
        """After a slice under the kernel model: switch tasks if the current one can't go on."""
        pm = self.kernel.subsystems.get("process")
        if pm is not None and pm.need_resched and self.exit_status is None:
            pm.schedule()

    def run(self, max_insns: int | None = None) -> RunResult:
        start = time.perf_counter()
        try:
            reason, message = self._run(max_insns)
        except GuestStop as e:
            reason, message = "guest-stop", str(e)
            self.exit_status = e.status
        finally:
            self.running = False
        status = self.exit_status if self.exit_status is not None else EXIT_TIMEOUT
        return RunResult(
            status,
            reason,
            message,
            self.cpu.counter.insns,
            self.clock.now(),
            time.perf_counter() - start,
        )

    def _run(self, max_insns: int | None) -> tuple[str, str]:
        cpu, clock, counter = self.cpu, self.clock, self.cpu.counter
        quantum = 1000
        while self.exit_status is None:
            clock.run_due()
            if self.exit_status is not None:
                break
            pending = self.irq_pending()
            masked = cpu.irq_masked()
            if cpu.halted and pending and (self.board.arch == "armv7" or not masked):
                cpu.halted = False  # ARM wfi wakes even on a masked IRQ; x86 hlt needs IF=1
            if pending and not masked and not cpu.halted and self.kernel is None:
                cpu.take_irq()  # (the kernel model has no interrupt handlers yet)
                quantum = 1000
            if cpu.halted:
                nxt = clock.next_deadline()
                if nxt is None:
                    why = "with interrupts masked" if masked else "and no device event is pending"
                    self.exit_status = EXIT_TIMEOUT
                    return "deadlock", (
                        f"guest is waiting for an interrupt {why}: it can never "
                        f"make progress (pc={cpu.pc:#010x})"
                    )
                clock.skip_to(nxt)
                continue
            insns = counter.insns
            if max_insns is not None and insns >= max_insns:
                self.exit_status = EXIT_TIMEOUT
                return "max-insns", f"stopped after {insns} instructions (--max-insns)"
            deadline = self._event_deadline()
            if max_insns is not None:
                deadline = min(deadline, max_insns)
            if pending and masked:
                deadline = min(deadline, insns + quantum)
                quantum = min(quantum * 2, 1 << 20)
            counter.deadline = deadline
            self.running = True
            stop = cpu.run_slice()
            self.running = False
            self.cache.slice_end()
            if stop in (Stop.EXCEPTION, Stop.INVALID, Stop.UNMAPPED, Stop.BUS_ERROR):
                fault = cpu.fault
                assert fault is not None
                if (
                    fault.kind == "undef"
                    and fault.pc not in self._reported_undef
                    and self.kernel is None
                ):
                    self._reported_undef.add(fault.pc)
                    self.log(
                        f"soclab: undefined instruction at pc={fault.pc:#010x}"
                        f"{self._where(fault.pc)}"
                    )
                if self.exit_status is None:
                    if self.kernel is not None:
                        self.kernel.arch_entry.handle_fault(self.kernel, fault)
                    else:
                        cpu.deliver(fault)
            elif stop is Stop.REQUESTED and not cpu.stop_requested and self.exit_status is None:
                cpu.resumed_at_wfi()
            if self.kernel is not None:
                self._kernel_exit_work()
        if self.stop_reason is not None:
            return self.stop_reason
        return "exit", f"guest exited with status {self.exit_status}"

    def _where(self, pc: int) -> str:
        sym = self.image.symbolize(pc) if self.image is not None else None
        return f" <{sym}>" if sym else ""
